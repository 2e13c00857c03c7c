"""Parity suite, RFM plugin: the ``rfm`` namespace on DuckDB, PostgreSQL and Spark equals the
pandas reference (tests/rfm_reference.py) on orders with many more distinct amounts than the
plugin's value ranges (segrules_rfm.build.BUCKETS), so running counts cross ranges; and its plan
has no window over all rows (one task on a distributed engine). The ranged plan Spark gets is also
checked on DuckDB (which itself gets the single-window plan)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import ibis
import ibis.expr.operations as ops
import pandas as pd
import pytest

from rfm_helpers import Shop
from rfm_reference import assert_same, reference_rfm
import segrules_rfm.build
from segrules_rfm.build import BUCKETS

NOW = datetime(2025, 6, 30, 12, 0)
CUSTOMERS = range(1, 401)
RFM = "rfm:\n  source: orders\n  amount: amount\n  where: status == 'paid'\n  window: 300d\n"


def generated_orders(seed: int = 16) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for _ in range(1500):
        customer = rng.choice(CUSTOMERS[:360])  # the last 40 never order
        days = rng.choice([None] + list(range(0, 400))) if rng.random() < 0.05 else rng.randint(0, 400)
        amount = None if rng.random() < 0.03 else round(rng.lognormvariate(3, 1), 2)
        rows.append((customer, None if days is None else NOW - timedelta(days=days, minutes=rng.randint(0, 1439)),
                     amount, rng.choice(["paid", "paid", "paid", "refunded"])))
    frame = pd.DataFrame(rows, columns=["customer_id", "ordered_at", "amount", "status"])
    frame["ordered_at"] = pd.to_datetime(frame.ordered_at)
    return frame


@pytest.fixture(scope="module")
def orders():
    return generated_orders()


@pytest.fixture
def ranged_everywhere(monkeypatch):
    monkeypatch.setattr(segrules_rfm.build, "RANGED", frozenset({"duckdb"}))


def test_parity_rfm_matches_the_reference(parity_con, orders):
    _, con = parity_con
    check_against_reference(con, orders)


def test_rfm_ranged_plan_matches_the_reference_on_duckdb(ranged_everywhere, orders):
    check_against_reference(ibis.duckdb.connect(), orders)


def check_against_reference(con, orders):
    shop = Shop(con, CUSTOMERS, orders)
    try:
        got = shop.rfm(RFM, NOW)
    finally:
        shop.drop()
    want = reference_rfm(CUSTOMERS, orders, NOW, window_days=300, status="paid")
    assert want.monetary.nunique() > 4 * BUCKETS  # many distinct values per range
    assert_same(got, want)


def test_rfm_ranged_plan_has_no_window_over_all_rows(ranged_everywhere, orders):
    con = ibis.duckdb.connect()
    shop = Shop(con, CUSTOMERS, orders)
    try:
        expr = shop.spec(RFM).namespace(con, "rfm", as_of=NOW)
        windows = list(expr.op().find(ops.WindowFunction))
        assert windows, "the quantile scores use partitioned running counts"
        assert all(w.group_by for w in windows), [w for w in windows if not w.group_by]
        segrules_rfm.build.RANGED = frozenset()  # DuckDB's own plan has the one window
        single = shop.spec(RFM).namespace(con, "rfm", as_of=NOW).op().find(ops.WindowFunction)
        assert any(not w.group_by for w in single)
    finally:
        shop.drop()
