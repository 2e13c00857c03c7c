"""add_months, days_between and hours_between against plain-Python definitions on DuckDB and
PostgreSQL (month ends, leap days, negative spans, ±1 µs around boundaries), and their misuse."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segrules
from builtin_helpers import backend, one_table_spec, positioned_error, put_table  # noqa: F401 (a fixture)

NOW = datetime(2026, 11, 1)
US = timedelta(microseconds=1)


# --- the definitions, in plain Python -------------------------------------------------------------
def ref_add_months(t, n):
    """The same day n months on, clamped to the end of a shorter month; the time of day kept."""
    if t is None or n is None:
        return None
    year, month = divmod(t.year * 12 + t.month - 1 + n, 12)
    return t.replace(year=year, month=month + 1, day=min(t.day, calendar.monthrange(year, month + 1)[1]))


def _stamp(t):
    return datetime.combine(t, datetime.min.time()) if type(t) is date else t


def ref_between(a, b, unit: timedelta):
    """Whole units from a to b, rounded down (timedelta // timedelta is exact floor division)."""
    return None if a is None or b is None else (_stamp(b) - _stamp(a)) // unit


def test_calendar_reference_examples():
    assert ref_add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert ref_add_months(date(2023, 1, 31), 1) == date(2023, 2, 28)
    assert ref_add_months(date(2024, 3, 31), -1) == date(2024, 2, 29)
    assert ref_add_months(datetime(2024, 12, 31, 10, 5), 2) == datetime(2025, 2, 28, 10, 5)
    assert ref_between(datetime(2024, 1, 2), datetime(2024, 1, 1, 12), timedelta(days=1)) == -1
    assert ref_between(date(2024, 1, 1), datetime(2024, 1, 2) - US, timedelta(days=1)) == 0


# --- the database against the definitions ---------------------------------------------------------
FEATURES = {
    "am_date": "add_months(d, n)", "am_ts": "add_months(a, n)", "am_lit": "add_months(d, -1)",
    "days": "days_between(a, b)", "hours": "hours_between(a, b)", "days_date": "days_between(d, b)",
    "hours_dates": "hours_between(d, d2)",
}


def evaluate(con, rows: list[dict]):
    types = {"a": pa.timestamp("us"), "b": pa.timestamp("us"), "d": pa.date32(), "d2": pa.date32(), "n": pa.int64()}
    data = {"id": pa.array(range(len(rows)), pa.int64())}
    data.update({c: pa.array([r[c] for r in rows], t) for c, t in types.items()})
    table = put_table(con, pa.table(data), "cal")
    spec = segrules.load_text(one_table_spec(table, "id", FEATURES))
    return sorted(spec.evaluate(con, as_of=NOW).to_pyarrow().to_pylist(), key=lambda r: r["id"])


def expected(r):
    return {"am_date": ref_add_months(r["d"], r["n"]), "am_ts": ref_add_months(r["a"], r["n"]),
            "am_lit": ref_add_months(r["d"], -1), "days": ref_between(r["a"], r["b"], timedelta(days=1)),
            "hours": ref_between(r["a"], r["b"], timedelta(hours=1)),
            "days_date": ref_between(r["d"], r["b"], timedelta(days=1)),
            "hours_dates": ref_between(r["d"], r["d2"], timedelta(hours=1))}


def check(con, rows):
    got = evaluate(con, rows)
    assert len(got) == len(rows)
    for row, out in zip(rows, got):
        want = expected(row)
        assert {k: out[k] for k in want} == want, row


MONTH_ENDS = st.builds(lambda y, m, back: date(y, m, calendar.monthrange(y, m)[1]) - timedelta(days=back),
                       st.integers(1600, 2400), st.integers(1, 12), st.integers(0, 3))
# add_months moves at most 1200 months: the results stay in the years 1..9999 Python can hold
DATES = MONTH_ENDS | st.dates(date(101, 1, 1), date(9898, 12, 31))
TIMES = st.datetimes(datetime(101, 1, 1), datetime(9898, 12, 31))
LOW, HIGH = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)


@st.composite
def spans(draw):
    """(a, b): random, or a whole number of days/hours apart ± 0 or 1 µs."""
    a = draw(TIMES)
    if draw(st.booleans()):
        return a, draw(TIMES)
    unit = draw(st.sampled_from([timedelta(days=1), timedelta(hours=1)]))
    count = draw(st.integers((LOW - a) // unit + 1, (HIGH - a) // unit - 1))
    return a, a + unit * count + US * draw(st.sampled_from([-1, 0, 1]))


@st.composite
def calendar_rows(draw):
    a, b = draw(spans())
    d = draw(DATES)
    n = draw(st.integers(-1200, 1200) | st.integers(-3, 3))
    d2 = draw(DATES)
    row = {"a": a, "b": b, "d": d, "d2": d2, "n": n}
    for column in draw(st.sets(st.sampled_from(list(row)), max_size=2)):  # some nulls
        row[column] = None
    return row


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(calendar_rows(), min_size=1, max_size=60))
def test_calendar_matches_the_definitions(backend, rows):
    check(backend, rows)


def test_calendar_month_ends_leap_days_and_boundaries(backend):
    t = datetime(2024, 1, 31, 23, 59, 59, 999999)
    rows = [
        {"a": t, "b": t + timedelta(days=1) - US, "d": date(2024, 1, 31), "d2": date(2024, 1, 30), "n": 1},
        {"a": t, "b": t + timedelta(days=1), "d": date(2023, 1, 31), "d2": date(2023, 3, 1), "n": 1},
        {"a": t, "b": t - US, "d": date(2024, 3, 31), "d2": date(2024, 2, 29), "n": -1},
        {"a": t, "b": t - timedelta(hours=1), "d": date(2024, 2, 29), "d2": date(2028, 2, 29), "n": 12},
        {"a": t, "b": t - timedelta(hours=1) - US, "d": date(2024, 2, 29), "d2": date(2025, 3, 1), "n": -12},
        {"a": datetime(1, 12, 31), "b": datetime(9999, 12, 31, 23, 59, 59, 999999), "d": date(2000, 2, 29),
         "d2": date(1900, 3, 1), "n": 1200},
        {"a": datetime(9999, 12, 31, 23, 59, 59, 999999), "b": datetime(1, 12, 31), "d": date(1900, 1, 31),
         "d2": date(1900, 2, 28), "n": -1},  # 1900 is no leap year
        {"a": None, "b": t, "d": None, "d2": date(2024, 1, 1), "n": None},
    ]
    check(backend, rows)
    got = evaluate(backend, rows)
    assert [r["am_date"] for r in got[:3]] == [date(2024, 2, 29), date(2023, 2, 28), date(2024, 2, 29)]
    assert [r["days"] for r in got[:3]] == [0, 1, -1]
    assert [r["hours"] for r in got[3:5]] == [-1, -2]


# --- misuse -----------------------------------------------------------------------------------------
HEAD = """\
version: 1
name: t
entity: {table: customers, key: customer_id}
segments:
  s: {where: "%s"}
schema:
  customers: {customer_id: int64, email: string, signup_at: timestamp, birthday: date, score: float64}
"""


@pytest.mark.parametrize("rule, code, words, hint", [
    ("add_months(email, 1) > now", "SR404", "add_months(): argument 1 must be a date or timestamp, got string", None),
    ("add_months(now, score) > now", "SR404", "argument 2 (months) must be an integer, got float64",
     "add_months(now, -1)"),
    ("add_months(now) > now", "SR404", "takes 2 arguments, got 1", None),
    ("days_between(now, 3) > 1", "SR404", "days_between(): argument 2 must be a date or timestamp, got int64", None),
    ("hours_between(email, now) > 1", "SR404", "argument 1 must be a date or timestamp, got string", None),
    ("now - signup_at > 3", "SR403", "cannot apply '-' to timestamp and timestamp", "days_between(signup_at, now)"),
    ("birthday - today > 3", "SR403", "cannot apply '-' to date and date", "days_between(today, birthday)"),
])
def test_calendar_misuse_is_a_positioned_error(rule, code, words, hint):
    diag = positioned_error(HEAD % rule, rule.split(" >")[0])
    assert diag.code == code and words in diag.message, diag.message
    assert hint is None or hint in diag.hint, diag.hint


@pytest.mark.parametrize("text, code, hint", [
    ("signup_at >= now - 1month", "SR230", "add_months(now, -1)"),
    ("signup_at >= now - 1 month", "SR206", "add_months(now, -1)"),
    ("signup_at >= now - 3 months", "SR206", "add_months(now, -3)"),
    ("renewal_at < signup_at + 1 year", "SR206", "add_months(signup_at, 12)"),
    ("signup_at >= now - 2mo", "SR230", "add_months(now, -2)"),
    ("count(o within 2m) > 0", "SR230", "use min for minutes"),
])
def test_calendar_month_durations_suggest_add_months(text, code, hint):
    from segrules.errors import ExprSyntaxError
    from segrules.lang import parse_expr
    with pytest.raises(ExprSyntaxError) as info:
        parse_expr(text)
    (diag,) = info.value.diagnostics
    assert diag.code == code and hint in diag.hint, (diag.message, diag.hint)
