"""The service's durable state, in the database that holds the spec's tables.

Invariant: everything one ingest or one evaluation writes lands in ONE transaction — the
source rows with the keys they touch (``pending``), or the new membership rows with their
changes and the next change times — so a process killed at any point leaves either all of it
or none of it, and a restart resumes from the last commit: acknowledged rows are never lost
(their keys are still pending), and an evaluation that did not commit is run again with the
same sequence number, so its changes get the same change ids (at-least-once, de-duplicable).

Tables (``PREFIX`` = ``serve_<spec name>_``):

* ``members`` — one row per entity of the universe as of the last evaluation: the key, one
  boolean per segment, the features (the wide layout of ``segrules run --layout wide``);
* ``pending`` — keys touched by acknowledged rows, not yet evaluated;
* ``due`` — per entity, the next instant its timed outputs may change without new rows;
* ``changes`` — every enter/exit, numbered (``seq``), with its change id: the outbox that the
  change stream, the webhook and the destinations read from;
* ``touched`` — scratch: the keys of the evaluation in progress;
* ``clock`` — one row: the ``now`` of the evaluation in progress (the plans read it);
* ``batches`` — one row per acknowledged ingest batch (number, source, rows, time): the ingest log;
* ``meta`` — name/value pairs: evaluation sequence, last evaluation time, the spec's hash.

Values reach the tables through Ibis inserts (on DuckDB, Arrow tables go in through the
driver's relation API: no SQL with values either); the ``DELETE`` statements Ibis has no API for
are sqlglot expressions with no values in them (the keys come from a subquery on ``touched``).
The statements an evaluation runs every time are compiled once (:meth:`Store.fetch`,
:meth:`Store.insert_query`): Ibis's compile takes milliseconds each, an evaluation runs a dozen.
"""

from __future__ import annotations

from typing import Any, Callable

import ibis
import pyarrow as pa
import sqlglot as sg

from ..run.transaction import transaction

CHANGES_SCHEMA = ibis.schema({
    "seq": "int64", "change_id": "string", "evaluation": "int64", "at": "timestamp", "key": "string",
    "segment": "string", "kind": "string", "recorded_at": "timestamp",
})
META_SCHEMA = ibis.schema({"name": "string", "value": "string"})


class Store:
    """The service tables of one spec in ``con`` (an Ibis backend: DuckDB or PostgreSQL)."""

    def __init__(self, con: Any, spec_name: str, key: str, key_type: Any):
        self.con, self.key = con, key
        self.prefix = f"serve_{spec_name}_"
        self.key_type = key_type
        self._tables: dict[str, Any] = {}  # table -> its Ibis table (a schema read saved per use)
        self._compiled: dict[str, tuple[str, pa.Schema]] = {}  # name -> (SQL, result schema)
        self._columns: dict[str, list[str]] = {}  # table name -> its columns, in order

    def name(self, table: str) -> str:
        return self.prefix + table

    def table(self, table: str):
        if table not in self._tables:
            self._tables[table] = self.con.table(self.name(table))
        return self._tables[table]

    def forget(self) -> None:
        """The tables were dropped or created: read their schemas again."""
        self._tables.clear()
        self._compiled.clear()
        self._columns.clear()

    # -- set-up ---------------------------------------------------------------------------
    def create(self, members_schema: ibis.Schema | None = None) -> None:
        """Create the tables that are missing (``members`` with ``members_schema``, when given:
        the plans that give its columns read ``touched``, so it comes second)."""
        existing = set(self.con.list_tables())
        wanted: dict[str, ibis.Schema | None] = {
            "members": members_schema,
            "pending": ibis.schema({self.key: self.key_type, "batch": "int64"}),
            "due": ibis.schema({self.key: self.key_type, "due_at": "timestamp"}),
            "touched": ibis.schema({self.key: self.key_type}),
            "changes": CHANGES_SCHEMA,
            "meta": META_SCHEMA,
            "clock": ibis.schema({"now": "timestamp"}),
            "batches": ibis.schema({"batch": "int64", "source": "string", "rows": "int64", "at": "timestamp"}),
        }
        for table, schema in wanted.items():
            if self.name(table) not in existing and schema is not None:
                self.con.create_table(self.name(table), schema=schema)
        self.forget()

    def drop(self) -> None:
        """Drop every service table of the spec (``segrules serve --reset``)."""
        for table in ("members", "pending", "due", "touched", "changes", "meta", "clock", "batches"):
            self.con.drop_table(self.name(table), force=True)
        self.forget()

    # -- transactions and statements ------------------------------------------------------
    def transaction(self) -> Any:
        """One database transaction: committed when the block ends, rolled back on an error."""
        return transaction(self.con)

    def execute(self, statement: sg.exp.Expression) -> None:
        self.execute_sql(statement.sql(self.con.name))

    def delete_touched(self, table: str) -> None:
        """``DELETE FROM table WHERE key IN (SELECT key FROM touched)``."""
        key = sg.column(self.key, quoted=True)
        keys = sg.select(key).from_(sg.table(self.name("touched"), quoted=True))
        self.execute(sg.delete(sg.table(self.name(table), quoted=True), where=key.isin(query=keys)))

    def clear(self, table: str) -> None:
        self.execute(sg.delete(sg.table(self.name(table), quoted=True)))

    def insert(self, table: str, rows: pa.Table | Any) -> None:
        """Append ``rows`` (Arrow, or an Ibis expression run inside the database)."""
        self.append(self.name(table), rows)

    def append(self, name: str, rows: pa.Table | Any) -> None:
        """Append ``rows`` to the table ``name`` (any table: the sources too)."""
        if isinstance(rows, pa.Table) and rows.num_rows == 0:
            return
        if isinstance(rows, pa.Table) and self.con.name == "duckdb" and "." not in name:
            if name not in self._columns:
                self._columns[name] = self.con.table(name).columns
            self.con.con.from_arrow(rows.select(self._columns[name])).insert_into(sg.to_identifier(name, quoted=True)
                                                                                 .sql("duckdb"))
            return
        self.con.insert(name, rows)

    # -- statements compiled once -----------------------------------------------------------
    def _compile(self, name: str, build: Callable[[], Any]) -> tuple[str, pa.Schema]:
        if name not in self._compiled:
            expr = build()
            self._compiled[name] = (self.con.compile(expr), expr.schema().to_pyarrow())
        return self._compiled[name]

    def read(self, sql: str, schema: pa.Schema) -> pa.Table:
        """Run the query ``sql`` (no values in it) through the driver; the rows typed by ``schema``."""
        raw = self.con.con
        if self.con.name == "duckdb":
            return raw.execute(sql).to_arrow_table().cast(schema)
        with raw.cursor() as cursor:
            cursor.execute(sql)
            rows = cursor.fetchall()
        return pa.Table.from_pylist([dict(zip(schema.names, row)) for row in rows], schema=schema)

    def fetch(self, name: str, build: Callable[[], Any]) -> pa.Table:
        """The rows of the Ibis table ``build()`` makes, compiled the first time ``name`` is asked."""
        return self.read(*self._compile(name, build))

    def insert_query(self, table: str, name: str, build: Callable[[], Any]) -> None:
        """``INSERT INTO table <build()>``, compiled the first time ``name`` is asked."""
        sql, _ = self._compile(name, build)
        dialect = self.con.name
        statement = sg.insert(sg.parse_one(sql, read=dialect), sg.table(self.name(table), quoted=True))
        self._compiled.setdefault("insert:" + name, (statement.sql(dialect), pa.schema([])))
        self.execute_sql(self._compiled["insert:" + name][0])

    def execute_sql(self, sql: str) -> None:
        raw = self.con.con
        if self.con.name == "postgres":
            with raw.cursor() as cursor:
                cursor.execute(sql)
        else:
            raw.execute(sql)

    def set_touched(self, keys: pa.Array | Any) -> None:
        """``touched`` := ``keys`` (an Arrow array, or an Ibis table of one key column)."""
        self.clear("touched")
        if isinstance(keys, (pa.Array, pa.ChunkedArray)):
            self.insert("touched", pa.table({self.key: keys}))
        else:
            self.insert("touched", keys)

    # -- meta -----------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        rows = self.fetch("meta", lambda: self.table("meta")).to_pylist()
        return {r["name"]: r["value"] for r in rows}

    def set_meta(self, values: dict[str, str]) -> None:
        """Update the ``values`` named, keep the others (inside the caller's transaction)."""
        merged = {**self.meta(), **values}
        self.clear("meta")
        self.insert("meta", pa.table({"name": list(merged), "value": list(merged.values())}))
