"""The plan reads only the rows a source's aggregates can count: up to now, and from the
widest ``within`` window on when every aggregate over the source has one."""

from datetime import datetime, timedelta

import ibis
import pyarrow as pa

import segrules
from helpers import spec_text

NOW = datetime(2026, 11, 1, 12, 0, 0)
WINDOWED = {"recent": "count(events within 7d) >= 1",
            "quiet_month": "max(events.ts within 30d) is null",
            "no_views": "count(events where name == 'view' within 30d) == 0",
            "last_view": "last(events.name within 2w) == 'view'"}


def _shop():
    con = ibis.duckdb.connect()
    con.create_table("customers", pa.table({
        "customer_id": pa.array([1, 2, 3, 4], pa.int64()), "email": ["a", "b", "c", "d"],
        "country": ["DE"] * 4, "signup_at": pa.array([NOW] * 4, pa.timestamp("us")),
        "plan": ["free"] * 4, "birth_date": pa.array([NOW.date()] * 4, pa.date32()),
        "marketing_opt_in": [True] * 4}))
    con.create_table("orders", pa.table({
        "order_id": pa.array([], pa.int64()), "customer_id": pa.array([], pa.int64()),
        "ordered_at": pa.array([], pa.timestamp("us")), "amount": pa.array([], pa.float64()),
        "status": pa.array([], pa.string())}))
    # (customer, days ago, name): 3 has only old events, 4 only one after now
    rows = [(1, 1, "view"), (1, 10, "search"), (2, 20, "view"), (2, 29.9, "view"), (2, 30, "view"),
            (3, 31, "view"), (3, 400, "view"), (4, -1, "view")]
    con.create_table("events", pa.table({
        "event_id": pa.array(range(len(rows)), pa.int64()),
        "customer_id": pa.array([r[0] for r in rows], pa.int64()),
        "ts": pa.array([NOW - timedelta(days=r[1]) for r in rows], pa.timestamp("us")),
        "name": [r[2] for r in rows]}))
    return con


def _members(spec, con):
    rows = spec.evaluate(con, as_of=NOW).to_pyarrow().to_pylist()
    return {name: {r["customer_id"] for r in rows if r[name]} for name in WINDOWED}


def test_all_windowed_source_is_read_from_the_widest_window_on():
    con = _shop()
    windowed = segrules.load_text(spec_text(WINDOWED))
    sql = windowed.to_sql(as_of=NOW)
    scan = sql[sql.index('FROM "events"'):]
    assert "INTERVAL '30' DAY" in scan[:scan.index("GROUP BY")]
    # one aggregate without a window: the whole source up to now, and the same members
    full = segrules.load_text(spec_text({**WINDOWED, "any": "count(events) >= 0"}))
    scan = full.to_sql(as_of=NOW)[full.to_sql(as_of=NOW).index('FROM "events"'):]
    assert "INTERVAL" not in scan[:scan.index("GROUP BY")]
    assert _members(windowed, con) == _members(full, con) == {
        "recent": {1}, "quiet_month": {3, 4}, "no_views": {3, 4}, "last_view": {1}}
