"""Updates and deletes of entity rows (the entity table, e.g. ``customers``), by key.

An upsert replaces the whole row of each key (a key not there yet is added); a delete removes the
rows of the keys given (a key not there is no error: a delete delivered twice deletes nothing the
second time). Either way the keys are marked pending, in the same transaction, and the next
evaluation re-evaluates them: a deleted entity leaves the universe, so it exits every segment it
was in. Source rows (events, orders) are not deleted with their entity: a batch run ignores rows
without an entity, and the service does the same.

The statements: the keys go into a scratch table (``serve_<spec>_keys``) through an Ibis insert,
then one ``DELETE FROM <entity> WHERE key IN (SELECT key FROM scratch)`` built with sqlglot — no
value is ever spliced into SQL.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa
import sqlglot as sg

from ..plugin.streams import Op
from .ingest import RowProblem, RowsRejected, check_rows



def key_rows(source: str, keys: Any, key: str) -> list[Any]:
    """A delete's body: a JSON array of keys, or of ``{key: value}`` objects, as row objects."""
    if not isinstance(keys, list):
        raise RowsRejected(source, [RowProblem(None, None, "expected a JSON array of keys")])
    return [k if isinstance(k, dict) else {key: k} for k in keys]


def check_entity_rows(source: str, rows: Any, schema: Any, key: str, zone: str, op: Op) -> pa.Table:
    """The rows of an upsert (every column, as an append) or a delete (the key only), checked;
    a key twice in one batch is refused (which of the two rows would win?)."""
    if op == "delete":
        schema = ibis.schema({key: schema[key]})
        rows = key_rows(source, rows, key)
    arrow = check_rows(source, rows, schema, (key,), zone)
    keys = arrow[key].to_pylist()
    seen: set[Any] = set()
    problems = []
    for i, k in enumerate(keys):
        if k in seen:
            problems.append(RowProblem(i, key, f"{k!r} appears twice in the batch"))
        seen.add(k)
    if problems:
        raise RowsRejected(source, problems)
    return arrow


class EntityWriter:
    """Upserts and deletes of one entity table through ``store`` (the ingest path's :class:`.store.Store`)."""

    def __init__(self, store: Any, table: str, key: str):
        self.store, self.table, self.key = store, table, key
        self.scratch = store.name("keys")

    def create(self) -> None:
        """The scratch table, if missing (outside a transaction: DDL)."""
        con = self.store.con
        if self.scratch not in con.list_tables():
            con.create_table(self.scratch, schema=ibis.schema({self.key: self.store.key_type}))

    def write(self, op: Op, arrow: pa.Table) -> None:
        """Inside the caller's transaction: delete the rows of ``arrow``'s keys, then (upsert)
        insert ``arrow``."""
        con, key = self.store.con, self.key
        self.store.execute(sg.delete(sg.table(self.scratch, quoted=True)))
        con.insert(self.scratch, pa.table({key: arrow[key].cast(self.store.key_type.to_pyarrow())}))
        column = sg.column(key, quoted=True)
        keys = sg.select(column).from_(sg.table(self.scratch, quoted=True))
        *db, name = self.table.split(".")
        target = sg.table(name, db=db[-1] if db else None, quoted=True)
        self.store.execute(sg.delete(target, where=column.isin(query=keys)))
        if op == "upsert":
            con.insert(self.table, arrow)
