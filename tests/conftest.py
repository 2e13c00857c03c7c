"""Shared test setup: markers and one in-memory DuckDB connection for the differential tests."""

from __future__ import annotations

import pytest


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
