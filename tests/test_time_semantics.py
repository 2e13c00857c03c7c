"""Declared time semantics: the spec's time zone (now, today, calendar boundaries, naive data read
in it), daylight-saving changes, and the exact bounds of rolling and calendar windows."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
import pytest

import segrules
from segrules.errors import SpecError

US = timedelta(microseconds=1)


def spec(zone: str | None, features: dict[str, str]):
    lines = ["version: 1", "name: t"] + ([f"timezone: {zone}"] if zone else []) + [
        "entity: {table: u, key: id}",
        "sources: {o: {table: o, key: id, time: at}}",
        "features:", *[f"  {k}: \"{v}\"" for k, v in features.items()],
        "segments: {any: {where: 'true'}}",
        "schema: {u: {id: int64}, o: {id: int64, at: timestamp}}",
    ]
    return segrules.load_text("\n".join(lines) + "\n", "t.yaml")


def evaluate(loaded, times: list[datetime], as_of) -> dict:
    """One entity (id 1) with one source row per time; the features' values."""
    con = ibis.duckdb.connect()
    con.create_table("u", pa.table({"id": [1]}))
    con.create_table("o", pa.table({"id": pa.array([1] * len(times), pa.int64()),
                                    "at": pa.array(times, pa.timestamp("us"))}))
    (row,) = loaded.evaluate(con, as_of=as_of, segments=[]).to_pyarrow().to_pylist()
    return row


# --- the time zone ---------------------------------------------------------------------------------
def test_time_unknown_timezone_is_a_positioned_error_with_suggestion():
    with pytest.raises(SpecError) as exc:
        spec("Europe/Berln", {"n": "count(o)"})
    (d,) = exc.value.diagnostics
    assert d.code == "SR130" and (d.span.line, d.span.column) == (3, 11)
    assert "Europe/Berln" in d.message and d.hint == "did you mean 'Europe/Berlin'?"


def test_time_default_zone_is_utc():
    loaded = spec(None, {"n": "count(o)"})
    assert loaded.timezone == "UTC"
    assert loaded.now("2026-03-29T01:30:00+02:00") == datetime(2026, 3, 28, 23, 30)


@pytest.mark.parametrize("zone,as_of,local", [
    # Europe/Berlin springs forward on 2026-03-29 at 02:00 (CET +1 -> CEST +2)
    ("Europe/Berlin", "2026-03-29T00:59:59Z", datetime(2026, 3, 29, 1, 59, 59)),
    ("Europe/Berlin", "2026-03-29T01:00:00Z", datetime(2026, 3, 29, 3, 0)),
    # America/New_York falls back on 2026-11-01 at 02:00 (EDT -4 -> EST -5): 01:30 happens twice
    ("America/New_York", "2026-11-01T05:30:00Z", datetime(2026, 11, 1, 1, 30)),
    ("America/New_York", "2026-11-01T06:30:00Z", datetime(2026, 11, 1, 1, 30)),
    ("America/New_York", "2026-11-01T07:30:00Z", datetime(2026, 11, 1, 2, 30)),
    ("America/New_York", "2026-11-01", datetime(2026, 11, 1)),  # no offset: already local
    ("Asia/Kolkata", "2026-01-01T00:00:00+00:00", datetime(2026, 1, 1, 5, 30)),
])
def test_time_as_of_is_converted_to_the_spec_zone_across_dst(zone, as_of, local):
    assert spec(zone, {"n": "count(o)"}).now(as_of) == local


def test_time_now_without_as_of_is_the_current_local_time():
    loaded = spec("Pacific/Auckland", {"n": "count(o)"})
    expected = datetime.now(ZoneInfo("Pacific/Auckland")).replace(tzinfo=None)
    assert abs(loaded.now() - expected) < timedelta(seconds=5)


def test_time_today_and_calendar_follow_the_zone_not_utc():
    """23:30 UTC on the last day of February is already March 1st in Berlin."""
    features = {"today_rows": "count(o where at >= today)", "this_month": "count(o within this month)",
                "last_month": "count(o within last month)", "day": "start_of_day(now)"}
    times = [datetime(2026, 3, 1, 0, 10), datetime(2026, 2, 28, 23, 0), datetime(2026, 2, 1)]
    berlin = evaluate(spec("Europe/Berlin", features), times, "2026-02-28T23:30:00Z")
    utc = evaluate(spec("UTC", features), times, "2026-02-28T23:30:00Z")
    assert berlin["day"] == datetime(2026, 3, 1)
    assert (berlin["today_rows"], berlin["this_month"], berlin["last_month"]) == (1, 1, 2)
    # in UTC it is still February 28th: the 00:10 row is in the future, and February is this month
    assert utc["day"] == datetime(2026, 2, 28)
    assert (utc["today_rows"], utc["this_month"], utc["last_month"]) == (1, 2, 0)


def test_time_across_spring_forward_durations_are_wall_clock():
    """Berlin, 2026-03-29 12:00 CEST: 1d and 24h both reach back to 12:00 the day before (CET),
    23 real hours; hours_since counts wall-clock hours."""
    features = {"d1": "count(o within 1d)", "h24": "count(o within 24h)",
                "h": "hours_since(max(o.at))", "today_rows": "count(o where at >= today)"}
    times = [datetime(2026, 3, 28, 12, 0), datetime(2026, 3, 28, 12, 0, 1), datetime(2026, 3, 29, 1, 30),
             datetime(2026, 3, 29, 3, 30)]  # 02:00-03:00 does not exist that night
    row = evaluate(spec("Europe/Berlin", features), times, "2026-03-29T10:00:00Z")
    assert row["d1"] == row["h24"] == 3  # 12:00 exactly is out, 12:00:01 is in
    assert row["h"] == 8  # 03:30 -> 12:00 wall clock (and real time: after the change)
    assert row["today_rows"] == 2  # 01:30 CET and 03:30 CEST are both March 29th


def test_time_across_fall_back_days_since_counts_calendar_days():
    """New York, 2026-11-02 00:30 EST: the previous day had 25 hours; days_since of a time one
    calendar day earlier is still 1."""
    features = {"days": "days_since(min(o.at))", "yesterday": "count(o within last day)",
                "d1": "count(o within 1d)"}
    times = [datetime(2026, 11, 1, 0, 30), datetime(2026, 11, 1, 1, 30), datetime(2026, 11, 1, 23, 0)]
    row = evaluate(spec("America/New_York", features), times, "2026-11-02T05:30:00Z")
    assert row["days"] == 1 and row["yesterday"] == 3
    assert row["d1"] == 2  # 00:30 the day before is exactly 1d ago: excluded


# --- window bounds, exactly ------------------------------------------------------------------------
NOW = datetime(2026, 3, 10, 12, 0)  # a Tuesday


@pytest.mark.parametrize("window,inside,outside", [
    # within 30d: now - 30d < t <= now
    ("within 30d", [NOW - timedelta(days=30) + US, NOW], [NOW - timedelta(days=30), NOW + US]),
    ("within 90min", [NOW - timedelta(minutes=90) + US], [NOW - timedelta(minutes=90)]),
    # between a and b: both ends included (and t <= now)
    ("between now - 2d and now - 1d", [NOW - timedelta(days=2), NOW - timedelta(days=1)],
     [NOW - timedelta(days=2) - US, NOW - timedelta(days=1) + US]),
    # calendar: this = [start, now]; last = [previous start, start)
    ("within this month", [datetime(2026, 3, 1), NOW], [datetime(2026, 3, 1) - US, NOW + US]),
    ("within last month", [datetime(2026, 2, 1), datetime(2026, 3, 1) - US],
     [datetime(2026, 2, 1) - US, datetime(2026, 3, 1)]),
    ("within this week", [datetime(2026, 3, 9)], [datetime(2026, 3, 9) - US]),
    ("within last week", [datetime(2026, 3, 2), datetime(2026, 3, 9) - US],
     [datetime(2026, 3, 2) - US, datetime(2026, 3, 9)]),
    ("within this day", [datetime(2026, 3, 10)], [datetime(2026, 3, 10) - US]),
    ("within last day", [datetime(2026, 3, 9)], [datetime(2026, 3, 9) - US, datetime(2026, 3, 10)]),
    ("within this quarter", [datetime(2026, 1, 1)], [datetime(2026, 1, 1) - US]),
    ("within last quarter", [datetime(2025, 10, 1), datetime(2026, 1, 1) - US],
     [datetime(2025, 10, 1) - US, datetime(2026, 1, 1)]),
    ("within last year", [datetime(2025, 1, 1), datetime(2026, 1, 1) - US],
     [datetime(2025, 1, 1) - US, datetime(2026, 1, 1)]),
    ("between start_of_week(now) and now", [datetime(2026, 3, 9), NOW], [datetime(2026, 3, 9) - US]),
])
def test_time_window_bounds_are_exact(window, inside, outside):
    loaded = spec("Europe/Berlin", {f"n{i}": f"count(o {window})" for i in range(2)})
    assert evaluate(loaded, inside, NOW)["n0"] == len(inside)
    assert evaluate(loaded, outside, NOW)["n0"] == 0


@pytest.mark.parametrize("as_of,start,previous", [
    (datetime(2024, 3, 15), datetime(2024, 3, 1), datetime(2024, 2, 1)),   # February of a leap year: 29 days
    (datetime(2025, 3, 31, 23), datetime(2025, 3, 1), datetime(2025, 2, 1)),
    (datetime(2026, 1, 5), datetime(2026, 1, 1), datetime(2025, 12, 1)),  # across the new year
    (datetime(2026, 8, 31), datetime(2026, 8, 1), datetime(2026, 7, 1)),
])
def test_time_last_month_is_the_exact_calendar_month(as_of, start, previous):
    loaded = spec("UTC", {"n": "count(o within last month)"})
    assert evaluate(loaded, [previous, start - US], as_of)["n"] == 2
    assert evaluate(loaded, [previous - US, start], as_of)["n"] == 0


def test_time_start_of_functions_keep_dates_and_check_their_argument():
    loaded = spec("UTC", {"w": "start_of_week(today)", "q": "start_of_quarter(now)", "y": "start_of_year(now)"})
    row = evaluate(loaded, [], NOW)
    assert row["w"] == NOW.date() - timedelta(days=1)  # Monday, a date
    assert row["q"] == datetime(2026, 1, 1) and row["y"] == datetime(2026, 1, 1)
    with pytest.raises(segrules.TypeCheckError) as exc:
        spec("UTC", {"x": "start_of_month(1)"}).check()
    assert exc.value.diagnostics[0].code == "SR404"


def test_time_zoned_time_columns_get_a_warning():
    loaded = segrules.load_text("""\
version: 1
name: z
timezone: Europe/Berlin
entity: {table: u, key: id}
sources: {o: {table: o, key: id, time: at}}
segments: {a: {where: count(o within 1d) > 0}}
schema: {u: {id: int64}, o: {id: int64, at: 'timestamp("UTC")'}}
""", "z.yaml")
    (warning,) = [d for d in loaded.validate() if d.code == "SR420"]
    assert warning.severity.value == "warning" and (warning.span.line, warning.span.column) == (5, 40)
    assert "o.at has a time zone (UTC)" in warning.message and "Europe/Berlin" in warning.hint
    assert not [d for d in spec("UTC", {"n": "count(o)"}).validate() if d.code == "SR420"]
