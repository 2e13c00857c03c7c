"""The plan reads only the rows a source's aggregates can count: up to now, and from the
widest ``within`` window on when every aggregate over the source has one."""

from datetime import datetime


import segrules
from helpers import duckdb_shop, spec_text

NOW = datetime(2026, 11, 1, 12, 0, 0)
WINDOWED = {"recent": "count(events within 7d) >= 1",
            "quiet_month": "max(events.ts within 30d) is null",
            "no_views": "count(events where name == 'view' within 30d) == 0",
            "last_view": "last(events.name within 2w) == 'view'"}


# (customer, days ago, name): 3 has only old events, 4 only one after now
EVENTS = [(1, 1, "view"), (1, 10, "search"), (2, 20, "view"), (2, 29.9, "view"), (2, 30, "view"),
          (3, 31, "view"), (3, 400, "view"), (4, -1, "view")]


def _members(spec, con):
    rows = spec.evaluate(con, as_of=NOW).to_pyarrow().to_pylist()
    return {name: {r["customer_id"] for r in rows if r[name]} for name in WINDOWED}


def test_all_windowed_source_is_read_from_the_widest_window_on():
    con = duckdb_shop(NOW, events=EVENTS)
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
