"""The backend matrix of the parity suite (tests/test_parity_*.py): DuckDB, PostgreSQL and Spark
run the same tests. PostgreSQL comes from SEGRULES_POSTGRES_URL, Spark from pyspark + Java; locally a
missing one is skipped, under CI=true it is an error (.ci/run provides both)."""

from __future__ import annotations

import os
import shutil
import uuid

import ibis
import pytest

BACKENDS = ["duckdb", "postgres", "spark"]
# Small and quiet: the parity data is a few hundred rows, two cores are shared.
SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.driver.memory": "1g",
    "spark.log.level": "ERROR",
    "spark.ui.showConsoleProgress": "false",
    # tiny data: compiling whole-stage Java code and re-planning adaptively cost more than they save
    # (bench/run_spark.py keeps Spark's defaults)
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.adaptive.enabled": "false",
}


def _missing(what: str) -> None:
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI=true but {what}: .ci/run must provide it")
    pytest.skip(f"{what}: the Spark tests are skipped")


def spark_connection(warehouse):
    try:
        import pyspark  # noqa: F401
    except ImportError:
        _missing("pyspark is not installed (pip install -e '.[spark]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        _missing("Java is not installed")
    from segrules.run.spark import spark_connect
    from segrules.run.targets import SparkTarget

    settings = {**SPARK_CONF, "spark.sql.warehouse.dir": str(warehouse)}
    return spark_connect(SparkTarget(master="local[2]", settings=tuple(settings.items())))


def connect_backend(name: str):
    if name == "duckdb":
        return ibis.duckdb.connect()
    url = os.environ.get("SEGRULES_POSTGRES_URL")
    if not url:
        _missing("SEGRULES_POSTGRES_URL is not set")
    return ibis.connect(url)


def unique(prefix: str) -> str:
    """A table name no other test (or parallel run on the same PostgreSQL) uses."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"
