"""Parity suite, spec test cases: every case of every shipped ``.test.yaml`` passes on DuckDB,
PostgreSQL and Spark. The fixture tables reach each backend as in-memory tables (Ibis memtables:
on Spark this exercises the upload of nulls, tests/test_spark_backend.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

import segrules
from segrules.testing.runner import run_test_file

ROOT = Path(__file__).resolve().parent.parent
TEST_FILES = sorted((ROOT / "segment_specs").rglob("*.test.yaml"))


@pytest.fixture(scope="module")
def registry():
    return segrules.default_registry()


def test_parity_spec_cases_pass_on_every_backend(parity_con, registry):
    name, con = parity_con
    checked, failures = 0, []
    for path in TEST_FILES:
        result = run_test_file(path, registry, con=con)
        assert not result.errors, f"{name}: {path.name}: {[d.message for d in result.errors]}"
        for case in result.cases:
            checked += case.checked
            failures += [(path.name, case.name, f.key, f.segment, f.expected) for f in case.failures]
    assert not failures, f"{name}: {len(failures)} failing expectations, first: {failures[:5]}"
    assert checked > 100  # every file ran its cases
