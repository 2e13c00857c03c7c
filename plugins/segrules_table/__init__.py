"""Built-in destination ``table``: the audience as a table in a warehouse, through Ibis.

Each run replaces ``table`` with the current audience (key, identifier, fields) inside one
transaction where the backend has them (DuckDB, Postgres), so readers see the old or the new
audience, never half of one.  With ``changes_table`` the run's changes (op, key,
identifier, fields, run time) are appended too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from segrules import connect
from segrules.plugin import DestinationDef, Limits, SinkError, SyncContext, hookimpl, redact, transaction

if TYPE_CHECKING:  # Ibis and Arrow are imported when a sync writes, not when the plugin loads
    import pyarrow as pa


class TableOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    db: str = Field(description="DuckDB file or Ibis URL of the warehouse (may use ${ENV_VAR}).")
    table: str = Field(description="Table that holds the audience.")
    changes_table: str | None = Field(None, description="Table the changes of each run are appended to.")


class TableClient:
    limits = Limits(max_rows=1_000_000)

    def __init__(self, options: TableOptions, context: SyncContext):
        self.options, self.context = options, context
        self.con = connect(options.db, must_exist=False)

    def write_snapshot(self, audience: pa.Table, changes: pa.Table) -> None:
        import ibis
        import pyarrow as pa

        o = self.options
        try:
            with transaction(self.con):
                self.con.create_table(o.table, ibis.memtable(audience), overwrite=True)
                if o.changes_table and changes.num_rows:
                    stamped = changes.append_column("sync", pa.array([self.context.sync] * changes.num_rows))
                    if o.changes_table in self.con.list_tables():
                        self.con.insert(o.changes_table, ibis.memtable(stamped))
                    else:
                        self.con.create_table(o.changes_table, ibis.memtable(stamped))
        except Exception as exc:
            raise SinkError(f"table {o.table} in {redact(o.db)}: {type(exc).__name__}: {exc}", code="SR835") from None

    def close(self) -> None:
        disconnect = getattr(self.con, "disconnect", None)
        if disconnect:
            disconnect()


@hookimpl
def register_destinations():
    return [DestinationDef(
        "table", TableOptions, TableClient, modes=("mirror",), snapshot=True,
        replay="the table is replaced as a whole, so a replay leaves it exactly at the audience; the "
        "changes table may get the same changes appended twice",
        doc="The audience as a warehouse table, replaced atomically each run.")]
