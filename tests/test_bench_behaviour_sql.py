"""The hand-written baselines of bench/run_behaviour.py against brute force.

Every statement of bench/handwritten_behaviour.sql runs on DuckDB over small random shops (a few
customers, tens of rows, times on a coarse grid so that ties, the 7-day conversion bound, the
90- and 365-day window edges and rows after ``now`` come up often, plus a microsecond either side)
and must give each customer the member flag and value that a literal Python reading of the
semantics gives: every attempt and every choice of rows tried (docs/language.md), no shortcut
such as the greedy next row that the SQL relies on. A benchmark's baseline must be right before
its timing means anything.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

SQL = Path(__file__).resolve().parent.parent / "bench" / "handwritten_behaviour.sql"
NOW = datetime(2026, 10, 15, 12, 0, 0)
US = timedelta(microseconds=1)
STEPS = (("events", "view_pricing"), ("events", "checkout"), ("orders", "paid"))


def statements() -> dict[str, str]:
    parts = re.split(r"^-- query: ([\w.]+)\n", SQL.read_text(), flags=re.M)
    return {name: sql.strip().rstrip(";") for name, sql in zip(parts[1::2], parts[2::2])}


QUERIES = statements()


# --- the semantics, literally ---------------------------------------------------------------
def _visible(t, window: timedelta | None) -> bool:
    """Point in time (t <= now) and the rolling window (now - W < t)."""
    return t is not None and t <= NOW and (window is None or t > NOW - window)


def sequence_value(step_times: list[list[datetime]], convert: timedelta | None) -> int:
    """The furthest step of the best attempt: every step-1 row starts one, every later row of the
    next step may be the one used (all choices tried)."""
    def furthest(k: int, used: datetime, start: datetime) -> int:
        if k == len(step_times):
            return k
        return max([furthest(k + 1, t, start) for t in step_times[k]
                    if t > used and (convert is None or t - start <= convert)], default=k)
    return max((furthest(1, t1, t1) for t1 in step_times[0]), default=0)


def funnel(shop, window: timedelta | None, convert: timedelta | None = timedelta(days=7),
           member: int = 3) -> dict[int, tuple[bool, int]]:
    result = {}
    for c in shop["customers"]:
        steps = [[r["t"] for r in shop[table] if r["customer_id"] == c and r["kind"] == kind
                  and _visible(r["t"], window)] for table, kind in STEPS]
        value = sequence_value(steps, convert)
        result[c] = (value == member, value)
    return result


def top_decile(values: dict[int, object]) -> dict[int, tuple[bool, float]]:
    """PERCENT_RANK over all customers: the share of the other customers with a strictly smaller
    value; a lone customer ranks 0. Members rank at least 0.9."""
    n = len(values)
    ranks = {c: (sum(1 for w in values.values() if w < v) / (n - 1) if n > 1 else 0.0)
             for c, v in values.items()}
    return {c: (r >= 0.9, r) for c, r in ranks.items()}


def top_spenders(shop):
    """percent_rank(sum(orders.amount within 365d)); no orders: 0."""
    return top_decile({c: sum((r["amount"] for r in shop["orders"] if r["customer_id"] == c
                               and _visible(r["t"], timedelta(days=365))), Decimal(0))
                       for c in shop["customers"]})


def most_engaged(shop):
    """percent_rank(count(events within 90d))."""
    return top_decile({c: sum(1 for r in shop["events"] if r["customer_id"] == c
                              and _visible(r["t"], timedelta(days=90)))
                       for c in shop["customers"]})


EXPECTED = {"funnel": lambda shop: funnel(shop, None),
            "funnel_90d": lambda shop: funnel(shop, timedelta(days=90)),
            "stuck_at_checkout": lambda shop: funnel(shop, None, convert=None, member=2),
            "top_spenders": top_spenders, "most_engaged": most_engaged}


# --- running the SQL ------------------------------------------------------------------------
def run_all(shop) -> dict[str, dict[int, tuple]]:
    con = duckdb.connect()
    tables = {
        "customers": pa.table({"customer_id": pa.array(shop["customers"], pa.int64())}),
        "events": pa.table({
            "event_id": pa.array(range(len(shop["events"])), pa.int64()),
            "customer_id": pa.array([r["customer_id"] for r in shop["events"]], pa.int64()),
            "ts": pa.array([r["t"] for r in shop["events"]], pa.timestamp("us")),
            "name": pa.array([r["kind"] for r in shop["events"]], pa.string())}),
        "orders": pa.table({
            "order_id": pa.array(range(len(shop["orders"])), pa.int64()),
            "customer_id": pa.array([r["customer_id"] for r in shop["orders"]], pa.int64()),
            "ordered_at": pa.array([r["t"] for r in shop["orders"]], pa.timestamp("us")),
            "amount": pa.array([r["amount"] for r in shop["orders"]], pa.decimal128(12, 2)),
            "status": pa.array([r["kind"] for r in shop["orders"]], pa.string())}),
    }
    for name, table in tables.items():
        con.register("rows", table)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM rows")
        con.unregister("rows")
    out = {}
    for name, sql in QUERIES.items():
        rows = con.execute(sql, {"now": NOW}).fetchall()
        assert len(rows) == len({r[0] for r in rows}), f"{name}: a customer twice"
        out[name] = {r[0]: (r[1], r[2]) for r in rows}
    return out


def check(shop) -> None:
    got = run_all(shop)
    for name, rows in got.items():
        expected = EXPECTED[name.partition(".")[0]](shop)
        assert set(rows) == set(expected), f"{name}: other customers"
        for c, (member, value) in expected.items():
            assert rows[c][0] == member and rows[c][1] == pytest.approx(value, abs=1e-12), (
                f"{name}, customer {c}: SQL gives member={rows[c][0]} value={rows[c][1]}, "
                f"the semantics member={member} value={value}\nshop: {shop}")


# --- random shops -----------------------------------------------------------------------------
# Times on a grid of half days around the window edges, so that equal times (ties), gaps of
# exactly 7 days and the 90d / 365d edges are common; a microsecond either side; some after now.
_grid = st.sampled_from([0, 1, 2, 7, 14, 80, 83, 84, 89, 90, 91, 97, 360, 365, 366]).flatmap(
    lambda d: st.integers(-2, 2).map(lambda half: d * 2 + half))
_times = st.one_of(
    st.tuples(_grid, st.sampled_from([-1, 0, 0, 0, 1])).map(
        lambda x: NOW - timedelta(hours=12 * x[0]) + x[1] * US),
    st.just(None),
)


@st.composite
def shops(draw):
    n = draw(st.integers(1, 5))
    customers = list(range(1, n + 1))
    owner = st.one_of(st.sampled_from(customers), st.just(n + 1), st.just(None))  # n + 1: no customer
    events = draw(st.lists(st.fixed_dictionaries({
        "customer_id": owner, "t": _times,
        "kind": st.sampled_from(["view_pricing", "checkout", "page_view"])}), max_size=30))
    orders = draw(st.lists(st.fixed_dictionaries({
        "customer_id": owner, "t": _times, "kind": st.sampled_from(["paid", "paid", "refunded"]),
        "amount": st.integers(0, 3).map(lambda x: Decimal(25 * x))}), max_size=15))
    return {"customers": customers, "events": events, "orders": orders}


@settings(max_examples=200, deadline=None)
@given(shops())
def test_handwritten_behaviour_sql_agrees_with_brute_force(shop):
    check(shop)


def _e(c, days, kind, us=0):
    return {"customer_id": c, "t": NOW - timedelta(days=days) + us * US, "kind": kind}


def _o(c, days, kind="paid", amount=10, us=0):
    return {**_e(c, days, kind, us), "amount": Decimal(amount)}


def test_handwritten_behaviour_sql_ties_and_bounds():
    """Readable cases: a checkout at the view's own time is no step 2 (1); an order at the
    checkout's time is no step 3 (2); exactly 7 days is inside the conversion (3), a microsecond
    more is not (2); a later view restarts the attempt (3); rows after now do not count (1);
    a checkout before any view (0 without a view)."""
    shop = {
        "customers": [1, 2, 3, 4, 5, 6, 7],
        "events": [
            _e(1, 10, "view_pricing"), _e(1, 10, "checkout"),
            _e(2, 10, "view_pricing"), _e(2, 9, "checkout"),
            _e(3, 10, "view_pricing"), _e(3, 8, "checkout"),
            _e(4, 10, "view_pricing"), _e(4, 8, "checkout"),
            _e(5, 30, "view_pricing"), _e(5, 29, "checkout"), _e(5, 26, "view_pricing"),
            _e(5, 25, "checkout"),
            _e(6, 10, "view_pricing"), _e(6, -1, "checkout"),
            _e(7, 3, "checkout"),
        ],
        "orders": [
            _o(2, 9), _o(3, 3), _o(4, 3, us=1), _o(5, 20), _o(6, -1),
        ],
    }
    expected = {1: 1, 2: 2, 3: 3, 4: 2, 5: 3, 6: 1, 7: 0}
    assert {c: v for c, (_, v) in funnel(shop, None).items()} == expected
    check(shop)
