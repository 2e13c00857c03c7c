"""Shared test setup: markers, one in-memory DuckDB connection for the differential tests, and
the ``shop_backend`` fixture that runs a behavioural test on DuckDB and on PostgreSQL."""

from __future__ import annotations

import pytest

pytest_plugins = ["codes_recorder", "parallel"]


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "differential: runs rules through segrules and the reference evaluator and compares"
    )


@pytest.fixture(scope="module")
def duckdb_con():
    """One in-memory DuckDB per module; tests replace its tables (``overwrite=True``)."""
    import ibis

    con = ibis.duckdb.connect()
    yield con
    con.disconnect()


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def shop_backend(request):
    """(name, connection) for the behavioural differential tests: DuckDB in memory, and
    PostgreSQL from ``SEGRULES_POSTGRES_URL`` (skipped locally without it, required in CI, as in
    tests/rfm_helpers.py); one per module and backend; their tables are dropped at the end."""
    from behaviour_harness import drop_tables
    from rfm_helpers import connect

    con = connect(request.param)
    yield request.param, con
    drop_tables(con)
    con.disconnect()


@pytest.fixture(scope="session")
def spark_con(tmp_path_factory):
    """The test run's one SparkSession (local[2], two shuffle partitions, no UI) as an Ibis
    connection, built once for every Spark test (a session costs ~20 s of JVM start). Skipped
    without pyspark or Java locally; required under CI=true (tests/parity_kit.py)."""
    from parity_kit import spark_connection

    con = spark_connection(tmp_path_factory.mktemp("spark"))
    yield con
    con.disconnect()


@pytest.fixture(scope="session", params=["duckdb", "postgres", "spark"])
def parity_con(request):
    """(backend name, connection) for the parity suite: one connection per backend for the whole
    run (tests create their tables under unique names)."""
    from parity_kit import connect_backend

    name = request.param
    con = request.getfixturevalue("spark_con") if name == "spark" else connect_backend(name)
    yield name, con
    if name != "spark":
        con.disconnect()
