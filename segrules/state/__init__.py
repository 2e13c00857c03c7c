"""The state store: where segrules keeps what it must remember between runs (membership
snapshots, sync state, run logs).

By default a local DuckDB file, ``.segrules/state.duckdb`` under the working directory; or a
schema in the warehouse (``--state URL``, any Ibis URL; the schema is ``segrules_state`` unless the
URL ends with ``#schema_name``, a lower-case SQL identifier).  Each feature keeps its own tables in
the store; this module only opens it.  Values reach the store through Ibis
(``insert``/``create_table``), never SQL text; the one statement Ibis has no API for, ``DELETE``,
is built as a sqlglot expression with bound parameters (:meth:`StateStore.delete`).

A DuckDB file can be open in one process at a time: opening one that another process holds is
retried for up to ``BUSY_SECONDS`` (the other process's write is short), then a clear error.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlglot as sg

from ..errors import BackendError
from ..run.connect import connect, redact

DEFAULT_STATE_PATH = Path(".segrules") / "state.duckdb"
DEFAULT_STATE_SCHEMA = "segrules_state"
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
BUSY_SECONDS = 30.0


@dataclass
class StateStore:
    """An open state store: an Ibis backend, and the schema (``database=`` in Ibis calls) that
    holds the state tables; None is the backend's default schema (a local DuckDB file)."""

    con: Any
    schema: str | None
    location: str  # for messages: a path, or the URL with its password hidden
    path: Path | None = None  # the DuckDB file, for a local store

    def tables(self) -> list[str]:
        return list(self.con.list_tables(database=self.schema) if self.schema else self.con.list_tables())

    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def table(self, name: str):
        return self.con.table(name, database=self.schema) if self.schema else self.con.table(name)

    def create(self, name: str, schema) -> None:
        """Create the empty table ``name`` unless it exists (also when another process creates
        it at the same moment: the loser's error is ignored if the table is there afterwards)."""
        if self.has_table(name):
            return
        try:
            self.con.create_table(name, schema=schema, **({"database": self.schema} if self.schema else {}))
        except Exception:
            if not self.has_table(name):
                raise

    def delete(self, name: str, column: str, values: list[str]) -> None:
        """``DELETE FROM name WHERE column IN (values)``: built as a sqlglot expression (quoted
        identifiers), the values bound as parameters of the driver, never spliced into SQL."""
        if not values:
            return
        if self.con.name == "pyspark":  # no DELETE on Spark's file tables (segrules/run/spark_backend.py)
            self.con.delete_in(name, column, values, self.schema)
            return
        where = sg.column(column, quoted=True).isin(*[sg.exp.Placeholder() for _ in values])
        statement = sg.delete(sg.table(name, db=self.schema, quoted=True), where=where)
        raw = self.con.con  # the driver: duckdb's ? and psycopg's %s placeholders, as sqlglot writes them
        if self.con.name == "postgres":
            with raw.cursor() as cursor:
                cursor.execute(statement.sql("postgres"), list(values))
        else:
            raw.execute(statement.sql(self.con.name), list(values))

    def close(self) -> None:
        self.con.disconnect()


def _busy(exc: Exception) -> bool:
    return "Could not set lock on file" in str(exc) or "Conflicting lock" in str(exc)


def _open_file(path: Path, busy_seconds: float):
    """The DuckDB file, read-write; retried while another process holds it."""
    deadline = time.monotonic() + busy_seconds
    while True:
        try:
            return connect(str(path), must_exist=False)
        except BackendError as exc:
            if not _busy(exc):
                raise
            if time.monotonic() >= deadline:
                raise BackendError(f"the state store {path} is in use by another process and was not freed "
                                   f"within {busy_seconds:g}s ({exc.diagnostics[0].message})", code="SR704") from None
        time.sleep(0.05)


def open_state(url: str | Path | None = None, busy_seconds: float = BUSY_SECONDS) -> StateStore:
    """Open (creating if needed) the state store at ``url``: None for the default local file,
    a path for a DuckDB file, or ``scheme://...[#schema]`` for a warehouse schema."""
    if url is None or "://" not in str(url):
        path = Path(url) if url is not None else DEFAULT_STATE_PATH
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(f"cannot create the state directory {path.parent}: {exc}", code="SR704") from None
        return StateStore(_open_file(path, busy_seconds), None, str(path), path)
    text = str(url)
    base, _, schema = text.partition("#")
    schema = schema or DEFAULT_STATE_SCHEMA
    if not SCHEMA_NAME.fullmatch(schema):
        # An unquoted name would be folded to lower case when created and then not found when
        # queried quoted ("Mixed" vs mixed): only names that mean the same both ways are taken.
        raise BackendError(f"--state {redact(base)}#{schema}: the state schema must be a lower-case SQL "
                           "identifier (a-z, 0-9, _; not starting with a digit; at most 63 characters)",
                           code="SR758", hint=f"use #{schema.lower()}" if SCHEMA_NAME.fullmatch(schema.lower())
                           else "use a name such as #segrules_state")
    con = connect(base)
    try:
        if schema not in con.list_databases():
            try:
                con.create_database(schema, force=True)
            except Exception:
                # IF NOT EXISTS is not race-free on PostgreSQL: a process that created it at the
                # same moment makes this one fail with a unique violation.  Fine if it exists now.
                if schema not in con.list_databases():
                    raise
    except Exception as exc:
        raise BackendError(f"cannot create the state schema {schema!r} in {redact(base)}: "
                           f"{type(exc).__name__}: {exc}", code="SR704") from None
    return StateStore(con, schema, f"{redact(base)}#{schema}")


__all__ = ["StateStore", "open_state", "DEFAULT_STATE_PATH", "DEFAULT_STATE_SCHEMA"]
