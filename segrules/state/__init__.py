"""The state store: where segrules keeps what it must remember between runs (membership
snapshots, sync state, run logs).

By default a local DuckDB file, ``.segrules/state.duckdb`` under the working directory; or a
schema in the warehouse (``--state URL``, any Ibis URL; the schema is ``segrules_state`` unless the
URL ends with ``#schema_name``).  Each feature keeps its own tables in the store; this module only
opens it.  Values reach the store through Ibis (``insert``/``create_table``), never SQL text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import BackendError
from ..run.connect import connect, redact

DEFAULT_STATE_PATH = Path(".segrules") / "state.duckdb"
DEFAULT_STATE_SCHEMA = "segrules_state"


@dataclass
class StateStore:
    """An open state store: an Ibis backend, and the schema (``database=`` in Ibis calls) that
    holds the state tables; None is the backend's default schema (a local DuckDB file)."""

    con: Any
    schema: str | None
    location: str  # for messages: a path, or the URL with its password hidden

    def tables(self) -> list[str]:
        return list(self.con.list_tables(database=self.schema) if self.schema else self.con.list_tables())

    def has_table(self, name: str) -> bool:
        return name in self.tables()

    def table(self, name: str):
        return self.con.table(name, database=self.schema) if self.schema else self.con.table(name)


def open_state(url: str | Path | None = None) -> StateStore:
    """Open (creating if needed) the state store at ``url``: None for the default local file,
    a path for a DuckDB file, or ``scheme://...[#schema]`` for a warehouse schema."""
    if url is None or "://" not in str(url):
        path = Path(url) if url is not None else DEFAULT_STATE_PATH
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BackendError(f"cannot create the state directory {path.parent}: {exc}", code="SR704") from None
        return StateStore(connect(str(path), must_exist=False), None, str(path))
    text = str(url)
    base, _, schema = text.partition("#")
    schema = schema or DEFAULT_STATE_SCHEMA
    con = connect(base)
    try:
        if schema not in con.list_databases():
            con.create_database(schema, force=True)
    except Exception as exc:
        raise BackendError(f"cannot create the state schema {schema!r} in {redact(base)}: "
                           f"{type(exc).__name__}: {exc}", code="SR704") from None
    return StateStore(con, schema, f"{redact(base)}#{schema}")


__all__ = ["StateStore", "open_state", "DEFAULT_STATE_PATH", "DEFAULT_STATE_SCHEMA"]
