"""A plain-Python reference of the behavioural rules of issue 11: the oracle of
tests/test_differential_behaviour.py.

Like tests/reference.py it shares nothing with the compiler: no Ibis, no SQL, no
``segrules.compile``, not even the AST of the new constructs.  Each construct is written as
its literal definition over Python values (``None`` is NULL, times are naive ``datetime``,
durations ``timedelta``), brute force where that is the most obviously right way (every
attempt and every choice of rows of a sequence), so that a disagreement with segrules can
be argued from this file and the issue's text.

Rows of a source
    The entity's rows of a source are those whose key equals the entity's key (a NULL key
    belongs to nobody).  Point in time: rows whose time is NULL or after ``now`` do not
    exist, before any window or condition (the rule of tests/reference.py).  A condition
    keeps a row only when it is true (unknown drops the row).

Windows (as for aggregates)
    ``Rolling(D)`` keeps ``now - D < t <= now``; ``Calendar('this', unit)`` keeps
    ``date_trunc(unit, now) <= t <= now``; ``Calendar('last', unit)`` the whole previous
    period ``previous_start <= t < start``; ``Range(T1, T2)`` keeps ``T1 <= t <= T2``.  Weeks
    start on Monday.

Sequences
    ``sequence(S1 then S2 ... [convert D] [within W])``: an attempt starts at any row of
    step 1; step k+1 is a row of step k+1 whose time is strictly later than the time used
    for step k; with ``convert D`` every step is at most D after the attempt's step-1 time;
    ``within W`` limits the rows of every step.  The value is the furthest step reached over
    all attempts and all choices of rows, 0 without a step-1 row.  ``time_between`` is the
    shortest ``t_last - t_1`` over the choices that reach the last step, else NULL.

Entity-relative aggregates
    ``entity.NAME`` inside an aggregate's condition or ``between`` bounds is the entity row's
    column or feature; a NULL makes the comparison unknown, so the row is dropped (and a NULL
    ``between`` bound keeps nothing).

Population functions (over the entities evaluated: those existing at ``now``)
    ``percent_rank(x)``: SQL PERCENT_RANK over the non-NULL values ascending,
    ``(rank - 1) / (n - 1)`` with ``rank = 1 + #smaller`` (0 when n == 1); NULL stays NULL.
    ``ntile(x, N)``: SQL NTILE(N) over the non-NULL values ascending, ties broken by the
    entity key ascending; NULL stays NULL.  ``top_n(x, N)``: RANK() by the value descending
    (``1 + #larger``) is at most N, ties all in; NULL is false.

Scalars
    ``bucket(v, salt, N) = int(md5(salt + ':' + str(v))[:8], 16) % N`` (UTF-8; integers as
    decimal digits, UUIDs as their canonical lower-case text); ``add_months(t, n)`` moves the
    calendar month and clamps the day to the month's last day, keeping the time of day;
    ``days_between(a, b)`` / ``hours_between(a, b)`` are ``floor((b - a) / unit)`` (a date is
    its midnight).  NULL in, NULL out.
"""

from __future__ import annotations

import calendar
import hashlib
import itertools
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Iterable, Mapping, Sequence

from reference import as_timestamp, date_trunc, previous_period_start

Row = Mapping[str, Any]
Predicate = Callable[[Row], "bool | None"]


# --- sources and windows ------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    table: str
    key: str
    time: str


@dataclass(frozen=True)
class Rolling:
    duration: timedelta


@dataclass(frozen=True)
class Calendar:
    period: str  # this | last
    unit: str  # day | week | month | quarter | year


@dataclass(frozen=True)
class Range:
    """``between T1 and T2`` with T1, T2 already evaluated."""

    start: datetime
    end: datetime


Window = Rolling | Calendar | Range | None


def rows_of(source: Source, key: Any, tables: Mapping[str, list[Row]], now: datetime) -> list[Row]:
    """The entity's rows of ``source`` that exist at ``now`` (time known and not after now)."""
    return [r for r in tables[source.table]
            if r[source.key] is not None and r[source.key] == key
            and r[source.time] is not None and r[source.time] <= now]


def in_window(t: datetime, window: Window, now: datetime) -> bool:
    if window is None:
        return t <= now
    if isinstance(window, Rolling):
        return now - window.duration < t <= now
    if isinstance(window, Range):
        return window.start <= t <= window.end and t <= now
    start = date_trunc(window.unit, now)
    if window.period == "this":
        return start <= t <= now
    return previous_period_start(window.unit, start) <= t < start


# --- sequences ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    source: Source
    where: Predicate | None = None


def step_times(step: Step, key: Any, tables: Mapping[str, list[Row]], now: datetime,
               window: Window) -> list[datetime]:
    """The times of the entity's rows that can play ``step`` (one entry per row)."""
    return [r[step.source.time] for r in rows_of(step.source, key, tables, now)
            if in_window(r[step.source.time], window, now)
            and (step.where is None or step.where(r) is True)]


def _valid_chain(chain: Sequence[datetime], convert: timedelta | None) -> bool:
    strictly_later = all(a < b for a, b in zip(chain, chain[1:]))
    converted = convert is None or all(t - chain[0] <= convert for t in chain)
    return strictly_later and converted


def chains(times: Sequence[Sequence[datetime]], depth: int,
           convert: timedelta | None) -> Iterable[tuple[datetime, ...]]:
    """Every choice of one row per step for the first ``depth`` steps that forms a valid
    attempt (brute force: all combinations, then the definition as a filter)."""
    return (c for c in itertools.product(*times[:depth]) if _valid_chain(c, convert))


def sequence_value(times: Sequence[Sequence[datetime]], convert: timedelta | None = None) -> int:
    """The furthest step reached by any attempt; 0 without a step-1 row."""
    reached = [depth for depth in range(1, len(times) + 1)
               if any(True for _ in chains(times, depth, convert))]
    return max(reached, default=0)


def time_between_value(times: Sequence[Sequence[datetime]],
                       convert: timedelta | None = None) -> timedelta | None:
    """The shortest time from step 1 to the last step over the attempts reaching it."""
    spans = [c[-1] - c[0] for c in chains(times, len(times), convert)]
    return min(spans, default=None)


def sequence(steps: Sequence[Step], key: Any, tables: Mapping[str, list[Row]], now: datetime,
             convert: timedelta | None = None, window: Window = None) -> int:
    return sequence_value([step_times(s, key, tables, now, window) for s in steps], convert)


def time_between(steps: Sequence[Step], key: Any, tables: Mapping[str, list[Row]], now: datetime,
                 convert: timedelta | None = None, window: Window = None) -> timedelta | None:
    return time_between_value([step_times(s, key, tables, now, window) for s in steps], convert)


# --- aggregates relative to the entity row ------------------------------------------------
def relative_aggregate(func: str, column: str | None, source: Source, entity: Row, key: Any,
                       tables: Mapping[str, list[Row]], now: datetime,
                       where: Callable[[Row, Row], "bool | None"] | None = None,
                       bounds: Callable[[Row], tuple[Any, Any]] | None = None) -> Any:
    """``count``/``sum``/``min``/``max`` over the entity's rows of ``source`` kept by
    ``where(source_row, entity)`` (true only) and, with ``bounds(entity) -> (lo, hi)``, by
    ``lo <= t <= hi`` (a NULL bound keeps nothing).  ``entity`` is the entity row with its
    features: what ``entity.NAME`` reads."""
    rows = rows_of(source, key, tables, now)
    if bounds is not None:
        lo, hi = bounds(entity)
        rows = [r for r in rows if lo is not None and hi is not None
                and as_timestamp(lo) <= r[source.time] <= as_timestamp(hi)]
    if where is not None:
        rows = [r for r in rows if where(r, entity) is True]
    if func == "count":
        return len(rows) if column is None else sum(1 for r in rows if r[column] is not None)
    values = [r[column] for r in rows if r[column] is not None]
    if func == "sum":
        return sum(values)  # 0 over nothing, as in tests/reference.py
    if func in ("min", "max"):
        return (min if func == "min" else max)(values, default=None)
    raise ValueError(f"no reference for {func}()")


# --- population functions -----------------------------------------------------------------
def percent_rank(values: Mapping[Any, Any]) -> dict[Any, float | None]:
    """Entity key -> PERCENT_RANK of its value among the non-NULL values (ascending)."""
    known = [v for v in values.values() if v is not None]
    n = len(known)
    out: dict[Any, float | None] = {}
    for key, v in values.items():
        if v is None:
            out[key] = None
            continue
        rank = 1 + sum(1 for w in known if w < v)
        out[key] = 0.0 if n == 1 else (rank - 1) / (n - 1)
    return out


def ntile(values: Mapping[Any, Any], buckets: int) -> dict[Any, int | None]:
    """Entity key -> NTILE(buckets) over the non-NULL values ascending, ties by key.  With m
    rows, the first ``m % buckets`` tiles hold ``m // buckets + 1`` rows, the others
    ``m // buckets``."""
    ordered = sorted((v, k) for k, v in values.items() if v is not None)
    m = len(ordered)
    sizes = [m // buckets + (1 if i < m % buckets else 0) for i in range(buckets)]
    tiles = [tile + 1 for tile, size in enumerate(sizes) for _ in range(size)]
    out: dict[Any, int | None] = {k: None for k, v in values.items() if v is None}
    out.update({k: tile for (_, k), tile in zip(ordered, tiles)})
    return out


def top_n(values: Mapping[Any, Any], n: int) -> dict[Any, bool]:
    """Entity key -> RANK() by value descending is at most n (ties all in); NULL is false."""
    known = [v for v in values.values() if v is not None]
    return {k: v is not None and 1 + sum(1 for w in known if w > v) <= n
            for k, v in values.items()}


# --- scalars ------------------------------------------------------------------------------
def bucket(value: Any, salt: str, n: int) -> int | None:
    """The issue's three lines: md5 of ``salt:value``, first 8 hex digits, mod n."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str, uuid.UUID)):
        raise TypeError(f"bucket() of {type(value).__name__}")  # str(UUID): lower-case, hyphens
    digest = hashlib.md5(f"{salt}:{value}".encode("utf-8")).hexdigest()
    return int(digest[:8], 16) % n


def add_months(t: date | datetime | None, n: int | None) -> date | datetime | None:
    if t is None or n is None:
        return None
    years, month0 = divmod(t.month - 1 + n, 12)
    year, month = t.year + years, month0 + 1
    day = min(t.day, calendar.monthrange(year, month)[1])
    return t.replace(year=year, month=month, day=day)


def _between(a: Any, b: Any, unit: timedelta) -> int | None:
    if a is None or b is None:
        return None
    return (as_timestamp(b) - as_timestamp(a)) // unit  # floor division, negatives included


def days_between(a: Any, b: Any) -> int | None:
    return _between(a, b, timedelta(days=1))


def hours_between(a: Any, b: Any) -> int | None:
    return _between(a, b, timedelta(hours=1))
