"""One database transaction on an Ibis connection, for writes that must land together."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator


@contextmanager
def transaction(con: Any) -> Iterator[None]:
    """Run the block in one transaction of ``con`` (an Ibis backend): committed when the block
    ends, rolled back when it raises. DuckDB and PostgreSQL (psycopg; a transaction opened
    inside another is a savepoint); on other backends the block runs without one (each
    statement commits by itself)."""
    raw = getattr(con, "con", None)
    if hasattr(raw, "begin") and hasattr(raw, "commit"):  # duckdb
        raw.begin()
        try:
            yield
        except BaseException:
            raw.rollback()
            raise
        raw.commit()
    elif hasattr(raw, "transaction"):  # psycopg
        with raw.transaction():
            yield
    else:
        yield
