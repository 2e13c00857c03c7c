"""``entity.NAME`` inside aggregates, compile stage: the staged plan is one query, and its results
equal a plain-Python evaluation (tests/entity_data.py) on DuckDB and PostgreSQL, at several
points in time, with null entity values, windows and chains of features."""

import os
import re
from datetime import timedelta
from pathlib import Path

import ibis
import pytest
import sqlglot

import segrules
from segrules.compile.staging import stages
from segrules.lang.unparse import unparse

from entity_data import FEATURES, NOW, SPEC, arrow_tables, reference, shop

URL = os.environ.get("SEGRULES_POSTGRES_URL")


def duckdb_con(tables):
    con = ibis.duckdb.connect()
    for name, table in tables.items():
        con.create_table(name, table)
    return con


def evaluate(spec, con, as_of):
    rows = spec.evaluate(con, as_of=as_of).to_pyarrow().to_pylist()
    return {r["customer_id"]: r for r in rows}


def assert_matches(actual, expected):
    assert actual.keys() == expected.keys()
    for cid, want in expected.items():
        got = actual[cid]
        for name, value in want.items():
            if isinstance(value, float):
                assert got[name] == pytest.approx(value), (cid, name)
            else:
                assert got[name] == value, (cid, name, got, want)


def test_entity_compile_is_one_query():
    spec = segrules.load_text(SPEC + _schema(), "t.yaml")
    sql = spec.to_sql("duckdb", as_of=NOW)
    assert len(sqlglot.parse(sql, read="duckdb")) == 1
    assert sql.startswith("WITH")


def test_entity_compile_stages_follow_the_dependencies():
    spec = segrules.load_text(SPEC + _schema(), "t.yaml")
    checked = spec.check()
    ordered = [agg for aggs in checked.aggregates.values() for agg in aggs]
    by_stage = [{src: sorted(unparse(a) for a in aggs) for src, aggs in st.items()}
                for st in stages(checked, ordered)]
    assert len(by_stage) == 3
    assert by_stage[0] == {"events": ["max(events.ts where name == 'add_to_cart')"],
                           "orders": ["avg(orders.amount)"]}
    assert "min(orders.ordered_at where ordered_at > entity.last_cart_at)" in by_stage[1]["orders"]
    assert by_stage[2] == {"events": ["count(events where ts > entity.first_after_cart within 10d)",
                                      "count(events where ts > entity.first_after_cart)"]}


def test_entity_compile_each_stage_aggregates_each_source_once():
    """The entity table joined so far is a common table expression: later stages read it, and
    no aggregation is written (or run) twice."""
    spec = segrules.load_text(SPEC + _schema(), "t.yaml")
    sql = spec.to_sql("duckdb", as_of=NOW)
    # stage 0: orders, events; stage 1: orders, events; stage 2: events
    assert sql.count("GROUP BY") == 5


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_entity_compile_matches_plain_python_on_duckdb(seed):
    people, orders, events = shop(seed)
    spec = segrules.load_text(SPEC, "t.yaml")
    con = duckdb_con(arrow_tables(people, orders, events))
    assert_matches(evaluate(spec, con, NOW), reference(people, orders, events, NOW))


@pytest.mark.parametrize("days", [0, 5, 20])
def test_entity_compile_point_in_time(days):
    """As of an earlier time, later rows do not count — also not for the features that entity.
    values read (last_cart_at as of then)."""
    people, orders, events = shop(7)
    spec = segrules.load_text(SPEC, "t.yaml")
    con = duckdb_con(arrow_tables(people, orders, events))
    as_of = NOW - timedelta(days=days, hours=3)
    assert_matches(evaluate(spec, con, as_of), reference(people, orders, events, as_of))


def test_entity_compile_null_entity_value_drops_the_row():
    people = [{"customer_id": 1, "signup_at": None}, {"customer_id": 2, "signup_at": NOW - timedelta(days=3)}]
    orders = [{"customer_id": c, "ordered_at": NOW - timedelta(days=1), "amount": 5.0} for c in (1, 1, 2, 2)]
    spec = segrules.load_text(SPEC, "t.yaml")
    rows = evaluate(spec, duckdb_con(arrow_tables(people, orders, [])), NOW)
    assert (rows[1]["early_orders"], rows[2]["early_orders"]) == (0, 2)  # null signup: unknown, not counted
    assert (rows[1]["activated"], rows[2]["activated"]) == (False, True)
    assert rows[1]["no_signup_orders"] == 2  # `or entity.signup_at is null` makes it true
    assert rows[1]["after_cart"] == 0 and rows[1]["first_after_cart"] is None  # no cart: null feature


def test_entity_compile_entity_time_filters_the_universe():
    """With entity.time, customers created after now are not entities; the values of those who
    are still reach their rows."""
    people, orders, events = shop(4)
    text = SPEC.replace("key: customer_id}\nsources", "key: customer_id, time: signup_at}\nsources", 1)
    spec = segrules.load_text(text, "t.yaml")
    con = duckdb_con(arrow_tables(people, orders, events))
    as_of = NOW - timedelta(days=10)
    signup = {p["customer_id"]: p["signup_at"] for p in people}
    expected = {cid: r for cid, r in reference(people, orders, events, as_of).items()
                if signup[cid] is not None and signup[cid] <= as_of}
    assert_matches(evaluate(spec, con, as_of), expected)


def _run(text: str, seed: int):
    """``text`` evaluated on the random shop ``seed`` as of NOW: (rows, reference, orders)."""
    people, orders, events = shop(seed)
    rows = evaluate(segrules.load_text(text, "t.yaml"), duckdb_con(arrow_tables(people, orders, events)), NOW)
    return rows, reference(people, orders, events, NOW), orders


def _mine(orders, cid):
    return [o for o in orders if o["customer_id"] == cid and o["ordered_at"] is not None and o["ordered_at"] <= NOW]


def test_entity_compile_value_reading_a_segment():
    """An entity value may be a feature that reads a segment (membership: never null)."""
    rows, expected, orders = _run(SPEC.replace("features:\n", "features:\n  is_activated: segment('activated')\n"
                                               "  orders_if_activated: count(orders where entity.is_activated)\n", 1), 5)
    for cid, r in rows.items():
        assert r["orders_if_activated"] == (len(_mine(orders, cid)) if expected[cid]["activated"] else 0)


def test_entity_compile_within_prefilter_keeps_rows_the_entity_value_needs():
    """Every aggregate of a stage windowed: the source is pre-filtered to the widest window,
    while the value read (avg over all orders) still comes from all rows."""
    rows, expected, orders = _run(SPEC.replace(
        "  no_signup_orders:", "  w: count(orders where amount >= entity.avg_amount within 3d)\n  no_signup_orders:", 1), 6)
    for cid, r in rows.items():
        avg = expected[cid]["avg_amount"]
        assert r["w"] == sum(1 for o in _mine(orders, cid) if o["ordered_at"] > NOW - timedelta(days=3)
                             and o["amount"] is not None and avg is not None and o["amount"] >= avg), cid


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The demo shop (``segrules demo-data``): a read-only DuckDB and its rows as Python lists."""
    from segrules.demo import write_demo_data

    path = tmp_path_factory.mktemp("demo") / "shop.duckdb"
    write_demo_data(path, customers=800, seed=3, now=NOW)
    con = ibis.duckdb.connect(str(path), read_only=True)
    rows = {t: con.table(t).to_pyarrow().to_pylist() for t in ("customers", "orders", "events")}
    yield con, rows
    con.disconnect()


def _docs_spec() -> str:
    text = (Path(__file__).parent.parent / "docs" / "language.md").read_text(encoding="utf-8")
    section = text.split("## The customer's own values inside an aggregate\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```yaml\n(.*?)```", section, re.S).group(1)


def test_entity_compile_docs_example_on_the_demo_shop(demo):
    """The spec of docs/language.md's section runs on the demo shop, member by member as in
    plain Python."""
    con, data = demo
    spec = segrules.load_text(_docs_spec(), "docs/language.md")
    rows = evaluate(spec, con, NOW)
    day = timedelta(days=1)
    signup = {c["customer_id"]: c["signup_at"] for c in data["customers"] if c["signup_at"] <= NOW}
    assert rows.keys() == signup.keys()
    for cid, r in rows.items():
        mine = [o for o in data["orders"] if o["customer_id"] == cid and o["ordered_at"] <= NOW]
        evs = [e for e in data["events"] if e["customer_id"] == cid and e["ts"] <= NOW]
        carts = [e["ts"] for e in evs if e["name"] == "add_to_cart"]
        last_cart = max(carts) if carts else None
        first_order = min((o["ordered_at"] for o in mine), default=None)
        s = signup[cid]
        assert r["last_cart_at"] == last_cart
        assert r["orders_after_cart"] == sum(1 for o in mine if last_cart is not None and o["ordered_at"] > last_cart)
        assert r["activated_7d"] == (sum(1 for o in mine if o["status"] == "paid" and o["ordered_at"] <= s + 7 * day) >= 2)
        assert r["early_logins"] == any(e["name"] == "login" and s <= e["ts"] <= s + 14 * day for e in evs)
        assert r["cart_abandoners"] == (last_cart is not None and last_cart <= NOW - 3 * day and not any(
            last_cart < o["ordered_at"] <= last_cart + 3 * day for o in mine)), cid
        assert r["came_back"] == any(o["ordered_at"] > first_order and o["ordered_at"] > NOW - 90 * day
                                     for o in mine if first_order is not None)
    for segment in spec.segments:  # every segment has members and non-members
        assert 0 < sum(r[segment] for r in rows.values()) < len(rows), segment


def _schema():
    return """\
schema:
  customers: {customer_id: int64, signup_at: timestamp}
  orders: {customer_id: int64, ordered_at: timestamp, amount: float64}
  events: {customer_id: int64, ts: timestamp, name: string}
"""


@pytest.mark.skipif(not URL, reason="set SEGRULES_POSTGRES_URL to run the PostgreSQL tests")
@pytest.mark.parametrize("seed", [1, 8])
def test_entity_compile_matches_plain_python_on_postgres(seed):
    people, orders, events = shop(seed)
    pg = ibis.connect(URL)
    for name, table in arrow_tables(people, orders, events).items():
        pg.create_table(f"entity_{name}", table, overwrite=True)
    text = SPEC.replace("table: customers", "table: entity_customers").replace(
        "table: orders", "table: entity_orders").replace("table: events", "table: entity_events")
    spec = segrules.load_text(text, "t.yaml")
    for as_of in (NOW, NOW - timedelta(days=9)):
        assert_matches(evaluate(spec, pg, as_of), reference(people, orders, events, as_of))
    pg.disconnect()


def test_entity_compile_reference_is_not_trivial():
    """The random shops exercise every value: none is constant over the customers."""
    people, orders, events = shop(1, customers=80)
    expected = reference(people, orders, events, NOW)
    for name in FEATURES + ["activated", "cart_then_bought", "chained"]:
        assert len({repr(r[name]) for r in expected.values()}) > 1, name


def test_entity_compile_edge_values_and_name_clashes():
    """An entity value named like a source column (`plan` on both), a feature that is null, and
    first/last and calendar windows in a later stage."""
    import pyarrow as pa

    ts = pa.timestamp("us")
    d = timedelta(days=1)
    con = ibis.duckdb.connect()
    con.create_table("customers", pa.table({
        "customer_id": pa.array([1, 2, 3], pa.int64()), "plan": ["pro", "free", None],
        "signup_at": pa.array([NOW - 20 * d, NOW - 3 * d, NOW - 40 * d], ts)}))
    con.create_table("orders", pa.table({
        "customer_id": pa.array([1, 1, 1, 2, 2, 3], pa.int64()),
        "plan": ["pro", "free", "pro", "free", "pro", "pro"],
        "ordered_at": pa.array([NOW - 19 * d, NOW - 18 * d, NOW - 2 * d, NOW - 2 * d, NOW - 1 * d, NOW - 1 * d], ts),
        "amount": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]}))
    text = """\
version: 1
name: edges
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
features:
  nothing: "null"
  same_plan: count(orders where plan == entity.plan)
  none_read: count(orders where ordered_at > entity.nothing or entity.nothing is null)
  first_same: first(orders.amount where plan == entity.plan)
  last_after_signup: last(orders.amount where ordered_at > entity.signup_at + 1d within this month)
segments:
  s: {where: same_plan >= 1}
"""
    rows = evaluate(segrules.load_text(text, "t.yaml"), con, NOW)
    assert [rows[c]["same_plan"] for c in (1, 2, 3)] == [2, 1, 0]  # null plan: never equal
    assert [rows[c]["none_read"] for c in (1, 2, 3)] == [3, 2, 1]
    assert [rows[c]["first_same"] for c in (1, 2, 3)] == [1.0, 4.0, None]
    # within this month: October 2026 from the 1st; customer 2 signed up on the 12th, +1d = 13th
    assert [rows[c]["last_after_signup"] for c in (1, 2, 3)] == [3.0, 5.0, 6.0]
    assert [rows[c]["s"] for c in (1, 2, 3)] == [True, True, False]
