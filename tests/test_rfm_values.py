"""RFM values and scores computed in the database agree with an independent pandas implementation
(tests/rfm_reference.py), on DuckDB and PostgreSQL: ties, null amounts and times, refunds left out
by ``where``, the look-back window and ``--as-of``."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rfm_helpers import BACKENDS, Shop, connect
from rfm_reference import assert_same as assert_matches
from rfm_reference import reference_rfm

NOW = datetime(2025, 6, 30, 12, 0)
@pytest.fixture(params=BACKENDS, scope="module")
def con(request):
    return connect(request.param)


def test_rfm_ties_get_equal_scores_with_the_documented_formula(con):
    """frequency 1, 1, 1, 2, 3 among N = 5 buyers: below = 0, 0, 0, 3, 4 and
    f = 1 + floor(5 * below / 5) = 1, 1, 1, 4, 5. A plain NTILE would split the three 1s."""
    orders = pd.DataFrame({
        "customer_id": [1, 2, 3, 4, 4, 5, 5, 5, 6],
        "ordered_at": [NOW - timedelta(days=d) for d in (10, 10, 10, 20, 5, 30, 3, 3, 1)],
        "amount": [10.0, 10.0, 10.0, 5.0, 5.0, 1.0, 1.0, 1.0, 99.0],
        "status": ["paid"] * 8 + ["refunded"],
    })
    shop = Shop(con, [1, 2, 3, 4, 5, 6], orders)
    try:
        got = shop.rfm("rfm: {source: orders, amount: amount, where: status == 'paid'}\n", NOW)
    finally:
        shop.drop()
    assert list(got.frequency) == [1, 1, 1, 2, 3, 0]
    assert list(got.f[:5]) == [1, 1, 1, 4, 5]
    # recency 10, 10, 10, 5, 3 days: below (strictly older) = 0, 0, 0, 3, 4
    assert list(got.recency_days[:5]) == [10, 10, 10, 5, 3] and list(got.r[:5]) == [1, 1, 1, 4, 5]
    # monetary 10, 10, 10, 10, 3: the four 10s are tied above the 3
    assert list(got.monetary[:5]) == [10, 10, 10, 10, 3] and list(got.m[:5]) == [2, 2, 2, 2, 1]
    # customer 6 only has a refund: no qualifying transaction
    assert pd.isna(got.r[6]) and pd.isna(got.score[6]) and got.label[6] == "No purchases"
    assert got.monetary[6] == 0 and pd.isna(got.recency_days[6])


statuses = st.sampled_from(["paid", "paid", "paid", "refunded", None])
order = st.tuples(
    st.integers(1, 12),                                    # customer (1..12, 13..15 never order)
    st.one_of(st.none(), st.integers(0, 60)),              # days before NOW (few values: ties)
    st.one_of(st.none(), st.integers(0, 4).map(lambda c: c * 12.5), st.integers(1, 9999).map(lambda c: c / 100)),
    statuses,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(order, max_size=40), as_of_days=st.integers(-5, 30), window=st.one_of(st.none(), st.integers(1, 40)),
       with_where=st.booleans())
def test_rfm_matches_pandas_on_generated_orders(con, rows, as_of_days, window, with_where):
    orders = pd.DataFrame({
        "customer_id": [r[0] for r in rows],
        "ordered_at": [None if r[1] is None else NOW - timedelta(days=r[1], hours=r[1] % 5) for r in rows],
        "amount": [r[2] for r in rows],
        "status": [r[3] for r in rows],
    })
    orders["ordered_at"] = pd.to_datetime(orders.ordered_at)
    as_of = NOW - timedelta(days=as_of_days)
    rfm = "rfm:\n  source: orders\n  amount: amount\n"
    rfm += "  where: status == 'paid'\n" if with_where else ""
    rfm += f"  window: {window}d\n" if window else ""
    shop = Shop(con, range(1, 16), orders)
    try:
        got = shop.rfm(rfm, as_of)
    finally:
        shop.drop()
    want = reference_rfm(range(1, 16), orders, as_of, window_days=window, status="paid" if with_where else None)
    assert_matches(got, want)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(order, max_size=40),
       cuts=st.lists(st.integers(0, 60), min_size=3, max_size=3, unique=True).map(sorted))
def test_rfm_thresholds_match_pandas(con, rows, cuts):
    orders = pd.DataFrame({
        "customer_id": [r[0] for r in rows],
        "ordered_at": pd.to_datetime([None if r[1] is None else NOW - timedelta(days=r[1]) for r in rows]),
        "amount": [r[2] for r in rows], "status": [r[3] for r in rows]})
    thresholds = {"recency_days": cuts, "frequency": [1, 2, 3], "monetary": [c * 10 for c in cuts]}
    rfm = ("rfm:\n  source: orders\n  amount: amount\n  method: thresholds\n  bins: 4\n"
           f"  thresholds: {thresholds}\n  labels:\n    best: r + f + m >= 9\n    rest: r + f + m < 9\n")
    shop = Shop(con, range(1, 16), orders)
    try:
        got = shop.rfm(rfm, NOW)
    finally:
        shop.drop()
    want = reference_rfm(range(1, 16), orders, NOW, status=None, bins=4, thresholds=thresholds,
                         label=lambda r, f, m: "best" if r + f + m >= 9 else "rest")
    assert_matches(got, want)


def test_rfm_values_are_used_in_rules_and_as_of_changes_them(con):
    orders = pd.DataFrame({
        "customer_id": [1, 1, 2, 3],
        "ordered_at": pd.to_datetime(["2025-01-01", "2025-06-01", "2025-06-20", "2024-01-01"]),
        "amount": [100.0, 300.0, 20.0, 50.0], "status": ["paid", "paid", "paid", "paid"]})
    shop = Shop(con, [1, 2, 3, 4], orders)
    try:
        spec = shop.spec("rfm: {source: orders, amount: amount, bins: 2, labels: {top: m == 2, low: m == 1},\n"
                         "      no_purchase_label: Never}\n",
                         "  top: {where: rfm.label == 'top'}\n  none: {where: rfm.label == 'Never'}\n"
                         "  big: {where: rfm.monetary > 100}\n")

        def members(as_of):
            wide = spec.evaluate(con, as_of=as_of, features=False).to_pyarrow().to_pandas()
            return {s: sorted(wide.loc[wide[s], "customer_id"]) for s in spec.segments}

        # monetary 400, 20, 50 among 3 buyers: below = 2, 0, 1 -> m = 1 + floor(2 * below / 3) = 2, 1, 1
        assert members(NOW) == {"top": [1], "none": [4], "big": [1]}
        # as of 2025-03-01 only customers 1 (100) and 3 (50) have bought: m = 2, 1
        assert members(datetime(2025, 3, 1)) == {"top": [1], "none": [2, 4], "big": []}
    finally:
        shop.drop()


def test_rfm_report_aggregates_on_each_backend(con):
    from segrules_rfm.report import compute_report

    orders = pd.DataFrame({
        "customer_id": [1, 1, 2, 3, 4, 4, 4],
        "ordered_at": pd.to_datetime(["2025-06-01", "2025-06-20", "2025-01-10", "2025-05-01", "2025-02-01",
                                      "2025-03-01", "2025-06-25"]),
        "amount": [100.0, 300.0, 20.0, 50.0, 10.0, 10.0, 10.0], "status": ["paid"] * 7})
    shop = Shop(con, [1, 2, 3, 4, 5], orders)
    try:
        spec = shop.spec("rfm: {source: orders, amount: amount}\n")
        report = compute_report(spec, con, as_of=NOW)
        values = shop.rfm("rfm: {source: orders, amount: amount}\n", NOW)
    finally:
        shop.drop()
    labels = report.labels.set_index("label")
    assert report.customers == 5 and report.revenue == 500
    for label, group in values.groupby("label"):
        assert labels.customers[label] == len(group)
        assert abs(labels.revenue[label] - group.monetary.sum()) < 1e-9
    assert labels.customers["No purchases"] == 1 and report.grid.customers.sum() == 4
