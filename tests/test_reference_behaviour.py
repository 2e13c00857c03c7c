"""Hand-computed checks of the behavioural reference (tests/reference_behaviour.py).

The reference is the oracle of tests/test_differential_behaviour.py, so each of its
definitions gets small examples worked out by hand from the issue's text: ties at one
timestamp, one row matching two steps, the convert edge at D and D + 1 µs, Jan 31 + 1 month,
Feb 29, empty logs and populations.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import pytest

from reference_behaviour import (Calendar, Range, Rolling, Source, Step, add_months, bucket,
                                 days_between, hours_between, ntile, percent_rank,
                                 relative_aggregate, sequence, sequence_value, time_between,
                                 time_between_value, top_n)

NOW = datetime(2024, 2, 29, 18, 0)  # a leap day, Thursday
T = datetime(2024, 2, 20, 9, 0)
US, H, D = timedelta(microseconds=1), timedelta(hours=1), timedelta(days=1)
EVENTS = Source("events", "cid", "ts")
ORDERS = Source("orders", "cid", "ordered_at")


def name_is(value):
    return lambda r: None if r["name"] is None else r["name"] == value


def ev(cid, ts, name):
    return {"cid": cid, "ts": ts, "name": name}


def order(cid, at, status="paid"):
    return {"cid": cid, "ordered_at": at, "status": status}


# --- sequence: the brute-force core -------------------------------------------------------
def test_reference_sequence_empty_log_is_zero():
    assert sequence_value([[], []]) == 0
    assert sequence_value([[], [T]]) == 0  # step 2 alone is no attempt
    assert time_between_value([[], [T]]) is None


def test_reference_sequence_tie_in_time_is_not_a_next_step():
    assert sequence_value([[T], [T]]) == 1
    assert sequence_value([[T], [T + US]]) == 2
    assert time_between_value([[T], [T]]) is None
    assert time_between_value([[T], [T + US]]) == US


def test_reference_sequence_one_row_matching_two_steps():
    # one row can start the attempt or be its second step, never both
    assert sequence_value([[T], [T]]) == 1
    # two rows matching both steps: the earlier is step 1, the later step 2
    assert sequence_value([[T, T + H], [T, T + H]]) == 2
    assert sequence_value([[T, T + H], [T, T + H], [T, T + H]]) == 2
    assert sequence_value([[T, T + H, T + 2 * H]] * 3) == 3


@pytest.mark.parametrize("gap, reached", [(3 * D - US, 2), (3 * D, 2), (3 * D + US, 1)])
def test_reference_sequence_convert_edge(gap, reached):
    assert sequence_value([[T], [T + gap]], convert=3 * D) == reached
    assert sequence_value([[T], [T + gap]]) == 2  # no convert: any later row


def test_reference_sequence_convert_counts_from_step_one():
    # step 2 one day after step 1, step 3 one day after step 2: 2d after step 1 > 1d
    assert sequence_value([[T], [T + D], [T + 2 * D]], convert=D) == 2
    assert sequence_value([[T], [T + D], [T + 2 * D]], convert=2 * D) == 3


def test_reference_sequence_is_the_best_attempt():
    # the first attempt is too slow, a later step-1 row converts
    assert sequence_value([[T, T + 5 * D], [T + 6 * D]], convert=3 * D) == 2
    # the latest step-1 row is a dead end (step 2 is before it), the earliest reaches 3
    assert sequence_value([[T, T + 2 * D], [T + D], [T + 3 * D]]) == 3
    # a later step-2 row is needed: the early one is before every step-3 candidate... and after
    assert sequence_value([[T], [T + H, T + 5 * H], [T + 3 * H]]) == 3


def test_reference_time_between_is_the_shortest_attempt():
    assert time_between_value([[T, T + 2 * D], [T + 3 * D]]) == D
    assert time_between_value([[T], [T + D], [T + 2 * D, T + 5 * D]]) == 2 * D
    assert time_between_value([[T, T + 2 * D], [T + 3 * D]], convert=D) == D
    assert time_between_value([[T], [T + 3 * D]], convert=D) is None


def test_reference_sequence_rows_point_in_time_windows_and_sources():
    tables = {
        "events": [ev(1, T, "a"), ev(1, T + D, "a"), ev(1, None, "a"), ev(None, T, "a"),
                   ev(2, T, "a"), ev(1, NOW + US, "a"), ev(1, T + 2 * H, None)],
        "orders": [order(1, T + H), order(1, T + 3 * D, "refunded"), order(1, NOW + H)],
    }
    a = Step(EVENTS, name_is("a"))
    paid = Step(ORDERS, lambda r: None if r["status"] is None else r["status"] == "paid")
    assert sequence([a, paid], 1, tables, NOW) == 2
    assert sequence([paid, a], 1, tables, NOW) == 2  # T + H, then the event at T + D
    assert sequence([paid, a, paid], 1, tables, NOW) == 2  # the paid order after now is not there
    assert time_between([a, paid], 1, tables, NOW) == H
    # within 9d at Feb 29 18:00 starts after Feb 20 18:00: the event at T (9:00) is out
    assert sequence([a, paid], 1, tables, NOW, window=Rolling(9 * D)) == 1
    assert sequence([a, paid], 1, tables, NOW, window=Rolling(9 * D + 9 * H + US)) == 2
    assert sequence([a, paid], 2, tables, NOW) == 1
    assert sequence([a, paid], 3, tables, NOW) == 0


def test_reference_sequence_calendar_windows():
    tables = {"events": [ev(1, datetime(2024, 1, 31, 23, 59, 59, 999999), "a"),
                         ev(1, datetime(2024, 2, 1), "b"), ev(1, datetime(2024, 2, 26), "c")],
              "orders": []}
    steps = [Step(EVENTS, name_is("a")), Step(EVENTS, name_is("b"))]
    assert sequence(steps, 1, tables, NOW) == 2
    assert sequence(steps, 1, tables, NOW, window=Calendar("this", "month")) == 0
    assert sequence(steps, 1, tables, NOW, window=Calendar("last", "month")) == 1
    bc = [Step(EVENTS, name_is("b")), Step(EVENTS, name_is("c"))]
    assert sequence(bc, 1, tables, NOW, window=Calendar("this", "week")) == 0  # Monday Feb 26
    assert sequence(bc, 1, tables, NOW, window=Calendar("this", "quarter")) == 2
    # between T1 and T2: both ends included, and still nothing after now
    assert sequence(steps, 1, tables, NOW, window=Range(datetime(2024, 1, 31, 23, 59, 59, 999999),
                                                         datetime(2024, 2, 1))) == 2
    assert sequence(steps, 1, tables, NOW, window=Range(datetime(2024, 2, 1), NOW + D)) == 0
    assert sequence(bc, 1, tables, NOW, window=Range(datetime(2024, 2, 1), datetime(2024, 2, 26) - US)) == 1


# --- entity-relative aggregates -----------------------------------------------------------
def test_reference_relative_aggregate_edges_and_nulls():
    signup = datetime(2024, 2, 1)
    tables = {"orders": [order(1, signup + 7 * D), order(1, signup + 7 * D + US), order(1, signup),
                         order(1, signup - US), order(1, NOW + H)]}
    def within_week(r, e):
        return None if e["signup_at"] is None else r["ordered_at"] <= e["signup_at"] + 7 * D
    count = lambda entity, **kw: relative_aggregate("count", None, ORDERS, entity, 1, tables, NOW, **kw)  # noqa: E731
    assert count({"signup_at": signup}, where=within_week) == 3
    assert count({"signup_at": None}, where=within_week) == 0  # unknown drops the row
    bounds = lambda e: (e["signup_at"], None if e["signup_at"] is None else e["signup_at"] + 7 * D)  # noqa: E731
    assert count({"signup_at": signup}, bounds=bounds) == 2
    assert count({"signup_at": None}, bounds=bounds) == 0
    assert count({"signup_at": NOW}, bounds=lambda e: (e["signup_at"], e["signup_at"] + D)) == 0


# --- population functions -----------------------------------------------------------------
def test_reference_percent_rank_ties_nulls_single_and_empty():
    assert percent_rank({1: 10, 2: 20, 3: 20, 4: None, 5: 30}) == {
        1: 0.0, 2: 1 / 3, 3: 1 / 3, 4: None, 5: 1.0}
    assert percent_rank({7: 1.5, 8: None}) == {7: 0.0, 8: None}
    assert percent_rank({}) == {}


def test_reference_ntile_ties_broken_by_key():
    # ascending: (1, k3) (2, k6) (5, k1) (5, k2) (5, k5); 5 rows in 4 tiles: sizes 2, 1, 1, 1
    assert ntile({1: 5, 2: 5, 3: 1, 4: None, 5: 5, 6: 2}, 4) == {
        3: 1, 6: 1, 1: 2, 2: 3, 5: 4, 4: None}
    assert ntile({10: 3, 20: 3}, 4) == {10: 1, 20: 2}  # fewer rows than tiles
    assert ntile({}, 3) == {}


def test_reference_top_n_ties_all_in_null_false():
    values = {1: 10, 2: 30, 3: 30, 4: 20, 5: None}
    assert {k for k, v in top_n(values, 1).items() if v} == {2, 3}
    assert {k for k, v in top_n(values, 2).items() if v} == {2, 3}  # 20 has rank 3
    assert {k for k, v in top_n(values, 3).items() if v} == {2, 3, 4}
    assert top_n(values, 100)[5] is False


# --- scalars ------------------------------------------------------------------------------
@pytest.mark.parametrize("value, salt, n, digest", [
    # digests from coreutils: printf '%s' 'campaign-7:42' | md5sum
    (42, "campaign-7", 10, "76f705f9"),
    (-42, "campaign-7", 10, "9dd66fca"),
    ("é", "x", 7, "eb1aec3a"),
    ("abc", "holdout", 100, "b2ad9ba3"),
    # printf '%s' 's:0000abcd-0000-4000-8000-00000000ffff' | md5sum
    (uuid.UUID("0000ABCD-0000-4000-8000-00000000FFFF"), "s", 10, "2aa3ffa1"),
])
def test_reference_bucket_is_the_documented_formula(value, salt, n, digest):
    assert bucket(value, salt, n) == int(digest, 16) % n
    assert bucket(None, salt, n) is None


@pytest.mark.parametrize("t, n, expected", [
    (datetime(2024, 1, 31, 13, 5), 1, datetime(2024, 2, 29, 13, 5)),
    (datetime(2023, 1, 31), 1, datetime(2023, 2, 28)),
    (datetime(2024, 2, 29), 12, datetime(2025, 2, 28)),
    (datetime(2024, 2, 29), 48, datetime(2028, 2, 29)),
    (datetime(2024, 3, 31), -1, datetime(2024, 2, 29)),
    (datetime(2024, 12, 15), 1, datetime(2025, 1, 15)),
    (datetime(2024, 1, 15), -1, datetime(2023, 12, 15)),
    (datetime(2024, 5, 31), -13, datetime(2023, 4, 30)),
    (datetime(2024, 5, 31, 0, 0, 0, 1), 0, datetime(2024, 5, 31, 0, 0, 0, 1)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
])
def test_reference_add_months_clamps_the_day(t, n, expected):
    assert add_months(t, n) == expected


def test_reference_add_months_null():
    assert add_months(None, 1) is None
    assert add_months(NOW, None) is None


@pytest.mark.parametrize("a, b, days, hours", [
    (datetime(2024, 1, 1, 23), datetime(2024, 1, 2, 1), 0, 2),
    (datetime(2024, 1, 2, 1), datetime(2024, 1, 1, 23), -1, -2),
    (datetime(2024, 2, 28), datetime(2024, 3, 1), 2, 48),  # leap day in between
    (datetime(2024, 1, 1), datetime(2024, 1, 1, 0, 59, 59, 999999), 0, 0),
    (datetime(2024, 1, 1), datetime(2023, 12, 31, 23, 59, 59, 999999), -1, -1),
    (date(2024, 2, 28), date(2024, 3, 1), 2, 48),
    (date(2024, 3, 1), datetime(2024, 2, 29, 12), -1, -12),
])
def test_reference_days_and_hours_between_floor(a, b, days, hours):
    assert days_between(a, b) == days
    assert hours_between(a, b) == hours


def test_reference_between_functions_null():
    assert days_between(None, NOW) is None
    assert hours_between(NOW, None) is None
