"""End to end on DuckDB: the ecommerce spec on hand-made data with known membership."""

from datetime import datetime, timedelta

import ibis
import pyarrow as pa
import pytest

import segrules

NOW = datetime(2026, 11, 1, 12, 0, 0)
SPEC = "segment_specs/ecommerce.yaml"


def days(n):
    return NOW - timedelta(days=n)


@pytest.fixture
def shop():
    con = ibis.duckdb.connect()
    con.create_table("customers", pa.table({
        "customer_id": pa.array([1, 2, 3, 4, 5], pa.int64()),
        "email": ["a@GMAIL.com", "b@yahoo.com", None, "d@gmail.com", "e@gmail.com"],
        "country": ["DE", "FR", "US", None, "ES"],
        "signup_at": pa.array([days(10), days(400), days(29), days(31), days(200)], pa.timestamp("us")),
    }))
    con.create_table("orders", pa.table({
        "order_id": pa.array(range(7), pa.int64()),
        "customer_id": pa.array([1, 1, 2, 2, 3, 5, 5], pa.int64()),
        "ordered_at": pa.array([days(5), days(40), days(100), days(95), days(-3), days(91), days(1)],
                               pa.timestamp("us")),
        "amount": [400.0, 200.0, 1000.0, 50.0, 9999.0, 30.0, None],
        "status": ["paid", "paid", "paid", "refunded", "paid", "paid", "cancelled"],
    }))
    events = [(1, "product_view", d) for d in (1, 2, 3, 4, 5)] + [(2, "product_view", d) for d in (1, 2, 3, 4, 40)]
    events += [(3, "add_to_cart", 2), (4, "add_to_cart", 8), (5, "add_to_cart", 6)]
    con.create_table("events", pa.table({
        "event_id": pa.array(range(len(events)), pa.int64()),
        "customer_id": pa.array([e[0] for e in events], pa.int64()),
        "name": [e[1] for e in events],
        "ts": pa.array([days(e[2]) for e in events], pa.timestamp("us")),
    }))
    return con


def members(table, segment):
    rows = table.to_pylist()
    return {r["customer_id"] for r in rows if r[segment]}


def test_engine_ecommerce_membership(shop):
    spec = segrules.load(SPEC)
    wide = spec.evaluate(shop, as_of=NOW).to_pyarrow()
    n = 1 + len(spec.segments)
    assert wide.column_names[:n] == ["customer_id", *spec.segments]
    assert wide.column_names[n:] == spec.features
    assert members(wide, "new_customers") == {1, 3}
    # paid within 90d: c1 400+200=600 > 500; c2's 1000 is 100 days old; c3's order is after now
    assert members(wide, "big_spenders") == {1}
    assert members(wide, "frequent_browsers") == {1}
    # add_to_cart within 7d and no order in 90d: c3 (its only order is in the future), c5 has one
    assert members(wide, "cart_abandoners") == {3}
    # last order more than 90 days ago, or never: c2 (95d), c3 and c4 (none at as-of)
    assert members(wide, "lapsed") == {2, 3, 4}
    assert members(wide, "vip_not_browsing") == set()
    assert members(wide, "eu_gmail") == {1, 5}
    ltv = {r["customer_id"]: r["ltv"] for r in wide.to_pylist()}
    assert ltv == {1: 600.0, 2: 1050.0, 3: 0, 4: 0, 5: 30.0}


def test_engine_as_of_is_point_in_time(shop):
    spec = segrules.load(SPEC)
    earlier = spec.evaluate(shop, as_of=NOW - timedelta(days=60)).to_pyarrow()
    # 60 days earlier c2's 1000 paid order was 40 days old: a big spender then
    assert members(earlier, "big_spenders") == {2}
    # the spec has no entity.time, so customers who signed up later are still in the universe
    assert members(earlier, "new_customers") == {1, 3, 4}
    ltv = {r["customer_id"]: r["ltv"] for r in earlier.to_pylist()}
    assert ltv[1] == 0 and ltv[2] == 1050.0


def test_engine_params_override(shop):
    spec = segrules.load(SPEC)
    wide = spec.evaluate(shop, as_of=NOW, params={"vip_threshold": "700"}).to_pyarrow()
    assert members(wide, "big_spenders") == set()  # c1 paid 600 within 90 days
    wide = spec.evaluate(shop, as_of=NOW, params={"vip_threshold": 599}).to_pyarrow()
    assert members(wide, "big_spenders") == {1}


def test_engine_entity_time_leaves_out_later_entities(shop):
    text = open(SPEC).read().replace("  key: customer_id\n", "  key: customer_id\n  time: signup_at\n", 1)
    spec = segrules.load_text(text, SPEC)
    earlier = spec.evaluate(shop, as_of=NOW - timedelta(days=60)).to_pyarrow()
    assert {r["customer_id"] for r in earlier.to_pylist()} == {2, 5}
    assert members(earlier, "new_customers") == set()


def test_engine_segment_selection_only_computes_what_is_needed(shop):
    spec = segrules.load(SPEC)
    wide = spec.evaluate(shop, as_of=NOW, segments=["vip_not_browsing"], features=[])
    assert wide.columns == ("customer_id", "vip_not_browsing")


def test_engine_one_grouped_aggregation_per_source():
    spec = segrules.load(SPEC)  # offline: its schema: block
    rfm_segments = {"champions", "win_back", "high_value_recent"}
    sql = spec.to_sql("duckdb", as_of=NOW, segments=[s for s in spec.segments if s not in rfm_segments])
    assert sql.upper().count("GROUP BY") == 2  # orders and events, all aggregates fused
    # the rfm.* values add their own per-customer aggregation (and three small counts per distinct
    # value for the scores), joined once, only when a rule uses them
    assert spec.to_sql("duckdb", as_of=NOW).upper().count("GROUP BY") == 2 + 1 + 3
    assert sql.upper().count("FILTER(WHERE") + sql.upper().count("FILTER (WHERE") >= 4


def test_engine_sql_for_other_dialects_compiles():
    spec = segrules.load(SPEC)  # offline: its schema: block
    for dialect in ("postgres", "snowflake", "bigquery", "trino"):
        assert "customers" in spec.to_sql(dialect, as_of=NOW)


def test_engine_days_since_floors_exact_time_just_below_a_boundary():
    """0.25 s short of 7 days is 6 days and 167 hours (epoch seconds would round it up)."""
    con = ibis.duckdb.connect()
    seen = NOW - timedelta(days=7) + timedelta(milliseconds=250)
    con.create_table("customers", pa.table({
        "customer_id": pa.array([1, 2], pa.int64()),
        "seen_at": pa.array([seen, NOW - timedelta(days=7)], pa.timestamp("us")),
    }))
    text = """version: 1
name: t
entity: {table: customers, key: customer_id}
features: {d: days_since(seen_at), h: hours_since(seen_at)}
segments: {week: {where: days_since(seen_at) >= 7}}
"""
    rows = segrules.load_text(text).evaluate(con, as_of=NOW).to_pyarrow().to_pylist()
    assert [(r["d"], r["h"], r["week"]) for r in rows] == [(6, 167, False), (7, 168, True)]
