"""Writing a plugin's generated tables (its demo data) into a DuckDB file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping


def write_duckdb_tables(path: str | Path, tables: Mapping[str, Any]) -> dict[str, int]:
    """Write ``tables`` (name -> ``pyarrow.Table``) into the DuckDB file ``path``, each replacing a
    table of that name; returns the row count per table."""
    import ibis

    con = ibis.duckdb.connect(str(path))
    try:
        for name, table in tables.items():
            con.create_table(name, table, overwrite=True)
    finally:
        con.disconnect()
    return {name: int(table.num_rows) for name, table in tables.items()}
