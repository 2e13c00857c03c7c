"""Parity suite, shipped specs: every spec of segment_specs/ that runs on the demo shop gives the
same membership and the same feature values on DuckDB, PostgreSQL and Spark (tests/parity_kit.py),
compared with DuckDB reading the demo file itself."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import ibis
import pytest

import segrules
from parity_kit import unique
from segrules.demo import write_demo_data

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 1, 6, 30)
SHOP_TABLES = ("customers", "orders", "events")
SPECS = ["behaviour", "bench_50", "ecommerce", "lifecycle", "lifecycle_not_mece"]  # churn_30d: predict-demo data


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("parity") / "shop.duckdb"
    write_demo_data(path, customers=300, seed=7, now=NOW)
    return path


@pytest.fixture(scope="session")
def baseline_con(demo_file):
    con = ibis.duckdb.connect(str(demo_file), read_only=True)
    yield con
    con.disconnect()


@pytest.fixture(scope="session")
def shop(parity_con, baseline_con):
    """(backend, connection, prefix): the demo tables copied to the backend as ``<prefix>_<table>``."""
    name, con = parity_con
    prefix = unique("shop")
    for table in SHOP_TABLES:
        con.create_table(f"{prefix}_{table}", baseline_con.table(table).to_pyarrow())
    yield name, con, prefix
    for table in SHOP_TABLES:
        con.drop_table(f"{prefix}_{table}", force=True)


def load_on(spec: str, prefix: str | None):
    path = ROOT / "segment_specs" / f"{spec}.yaml"
    text = path.read_text()
    if prefix:
        text = re.sub(r"\btable: (customers|orders|events)\b", rf"table: {prefix}_\1", text)
    return segrules.load_text(text, str(path))


def normal(value):
    """A value as comparable across drivers: decimals as floats, aware times as naive UTC."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def same(a, b) -> bool:
    a, b = normal(a), normal(b)
    if isinstance(a, float) and isinstance(b, (int, float)) or isinstance(b, float) and isinstance(a, (int, float)):
        return (math.isnan(a) and math.isnan(b)) if math.isnan(a) or math.isnan(b) else \
            math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def rows_of(spec, con) -> dict:
    table = spec.evaluate(con, as_of=NOW).to_pyarrow()
    return {r[spec.key]: r for r in table.to_pylist()}


@pytest.mark.parametrize("spec_name", SPECS)
def test_parity_shipped_spec_membership_and_features(shop, baseline_con, spec_name):
    name, con, prefix = shop
    expected = rows_of(load_on(spec_name, None), baseline_con)
    actual = rows_of(load_on(spec_name, prefix), con)
    assert actual.keys() == expected.keys()
    columns = list(next(iter(expected.values())))
    differences = [(k, c, expected[k][c], actual[k][c]) for k in expected for c in columns
                   if not same(expected[k][c], actual[k][c])]
    assert not differences, f"{name}: {len(differences)} differences, first: {differences[:5]}"
    spec = load_on(spec_name, None)
    assert any(r[s] for r in expected.values() for s in spec.segments)  # the data exercises the rules
