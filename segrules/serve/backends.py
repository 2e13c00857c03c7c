"""Where ``segrules serve`` runs: DuckDB and PostgreSQL. The service keeps its state in the
spec's database and needs row-level transactions and small statements answered in milliseconds;
a Spark, Snowflake or BigQuery target is refused before connecting (SR906), not at the first
ingest."""

from __future__ import annotations

from typing import Any

from ..errors import SpecError
from ..run.targets import DuckDBTarget, PostgresTarget, UrlTarget, describe, from_url

SERVED = ("duckdb", "postgres")
POSTGRES_SCHEMES = ("postgres", "postgresql")
SPARK_SCHEMES = ("spark", "pyspark", "sc")
NAMES = {"pyspark": "spark"}  # Ibis's backend name -> the target type users write


def backend_of(db: Any) -> str:
    """The engine of a ``--db`` URL or a typed target: ``duckdb``, ``postgres`` or another name."""
    target = from_url(db) if db is None or isinstance(db, str) else db
    if isinstance(target, DuckDBTarget):
        return "duckdb"
    if isinstance(target, PostgresTarget):
        return "postgres"
    if isinstance(target, UrlTarget):
        scheme = target.url.reveal().split("://", 1)[0].lower()  # not urlsplit: local[2] is no IPv6 host
        if scheme in POSTGRES_SCHEMES:
            return "postgres"
        return "spark" if scheme in SPARK_SCHEMES else scheme
    return str(getattr(target, "type", type(target).__name__))


def check_backend(db: Any) -> None:
    """SR906 unless ``db`` is a DuckDB or PostgreSQL database."""
    refuse(backend_of(db), describe(db))


def refuse(backend: str, where: str | None = None) -> None:
    """SR906 unless ``backend`` (a target type or an Ibis backend name) is DuckDB or PostgreSQL."""
    if backend not in SERVED:
        name = NAMES.get(backend, backend)
        raise SpecError(f"segrules serve runs on DuckDB or PostgreSQL, not on {name}"
                        + (f" ({where})" if where else ""), code="SR906",
                        hint="serve from a DuckDB file or a PostgreSQL database that holds the spec's tables; "
                        "run the batch commands (run, sync, history) on the warehouse")
