"""Hypothesis strategies for the behavioural differential test: small random shops and the
issue-11 constructs over them, each as spec text plus its reference value.

Schema::

    customers(id BIGINT, signup_at TIMESTAMP?, ltv DOUBLE?, code VARCHAR?, birth DATE?)  key id
    events(cid BIGINT?, ts TIMESTAMP?, name VARCHAR?)                 source events, time ts
    orders(cid BIGINT?, ordered_at TIMESTAMP?, status VARCHAR?, amount DOUBLE?)
                                                                      source orders, time ordered_at

Data: few entities (none at all sometimes), few rows, times drawn per example from a handful
of instants around :data:`NOW` (a leap day) so ties are common, and each instant sometimes
moved by ±1 µs, so rolling windows (``now - D < t``), ``convert`` (``t - t1 <= D``) and
calendar periods (month, week starts) are hit on, just inside and just outside their edges.
Keys, times, names, statuses and amounts are sometimes NULL; a source row may belong to no
entity.  Floats are multiples of 0.25: sums are exact and ties in ranks are real.

Each ``Case`` knows its text (what goes in the spec) and computes its reference value with
:mod:`reference_behaviour`, never with segrules.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Mapping

from hypothesis import strategies as st

from reference import compare, date_trunc, kleene_and, previous_period_start
from reference_behaviour import (Calendar, Range, Rolling, Source, Step, Window, add_months, days_between,
                                 in_window, relative_aggregate, sequence)

NOW = datetime(2024, 2, 29, 18, 0)  # a leap day (Thursday); this week starts Monday Feb 26
US, H, D = timedelta(microseconds=1), timedelta(hours=1), timedelta(days=1)
SOURCES = {"events": Source("events", "cid", "ts"), "orders": Source("orders", "cid", "ordered_at")}
# database table names: unique per run, so parallel runs on one PostgreSQL do not meet
TABLES = {name: f"bh_{name}_{uuid.uuid4().hex[:8]}" for name in ("customers", "events", "orders")}
KEYS = [-7, -1, 0, 1, 2, 3, 4, 5, 2**40 + 3]  # negative and large keys for bucket()
INSTANTS = [NOW - d for d in (0 * H, H, D, 2 * D, 3 * D, 4 * D, 7 * D, 8 * D, 30 * D, 31 * D)] + [
    datetime(2024, 2, 1), datetime(2024, 1, 1), datetime(2024, 2, 26), datetime(2024, 2, 29),
    datetime(2024, 1, 31), datetime(2023, 12, 31, 23), NOW + H]  # calendar edges, the future
MONTH_ENDS = [datetime(2024, 1, 31, 13, 30), datetime(2023, 1, 31), datetime(2024, 2, 29, 23, 59),
              datetime(2024, 3, 31), datetime(2024, 12, 31, 6), datetime(2023, 2, 28),
              datetime(2024, 11, 30), datetime(2024, 5, 31, 0, 0, 0, 1)]
CONVERTS = [H, D, 3 * D, 7 * D]
JITTER = st.sampled_from([0 * US, 0 * US, US, -US])
RANGES = {Range(NOW - 7 * D, NOW - D): "between now - 7d and now - 1d",
          Range(datetime(2024, 2, 1), NOW + D): "between date('2024-02-01') and now + 1d"}
WINDOWS: list[Window] = [None, None, None, Rolling(3 * D), Rolling(7 * D), Rolling(30 * D),
                         Calendar("this", "month"), Calendar("last", "month"),
                         Calendar("this", "week"), Calendar("this", "year"), *RANGES]
CONDITIONS = {"events": [None, None, ("name", "==", "a"), ("name", "==", "b"), ("name", "!=", "a")],
              "orders": [None, None, ("status", "==", "paid"), ("amount", ">=", 10)]}


# --- text ---------------------------------------------------------------------------------
def duration_text(d: timedelta) -> str:
    s = int(d.total_seconds())
    assert s > 0 and d == timedelta(seconds=s), d
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"


def window_text(w: Window) -> str:
    if w is None:
        return ""
    if isinstance(w, Rolling):
        return f" within {duration_text(w.duration)}"
    if isinstance(w, Range):
        return f" {RANGES[w]}"
    return f" within {w.period} {w.unit}"


def literal(v: Any) -> str:
    return f"'{v}'" if isinstance(v, str) else str(v)


def spec(features: Mapping[str, str], segments: Mapping[str, str], entity_time: bool,
         params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The spec as a dict ready for YAML; ``last_cart_at`` and ``first_order_at`` are features
    every spec has (the ``entity.`` anchors that are themselves aggregates)."""
    entity = {"table": TABLES["customers"], "key": "id", **({"time": "signup_at"} if entity_time else {})}
    return {
        "version": 1, "name": "behaviour", "entity": entity,
        "sources": {n: {"table": TABLES[s.table], "key": s.key, "time": s.time} for n, s in SOURCES.items()},
        **({"params": dict(params)} if params else {}),
        "features": {"last_cart_at": "max(events.ts where name == 'a')",
                     "first_order_at": "min(orders.ordered_at)", **features},
        "segments": {name: {"where": rule} for name, rule in {"everyone": "true", **segments}.items()},
    }


# --- the entity view the reference reads --------------------------------------------------
def population(data: Mapping[str, list[dict]], entity_time: bool, now: datetime = NOW) -> list[dict]:
    """The entities evaluated at ``now``, each with its ``entity.``-readable features."""
    rows = [r for r in data["customers"]
            if not entity_time or (r["signup_at"] is not None and r["signup_at"] <= now)]
    out = []
    for r in rows:
        cart = relative_aggregate("max", "ts", SOURCES["events"], r, r["id"], data, now,
                                  where=lambda e, _: compare("==", e["name"], "a"))
        first = relative_aggregate("min", "ordered_at", SOURCES["orders"], r, r["id"], data, now)
        out.append(dict(r, last_cart_at=cart, first_order_at=first))
    return out


# --- sequences and time_between -----------------------------------------------------------
@dataclass(frozen=True)
class StepCase:
    source: str
    cond: tuple[str, str, Any] | None

    def text(self) -> str:
        if self.cond is None:
            return self.source
        col, op, value = self.cond
        return f"{self.source} where {col} {op} {literal(value)}"

    def matching(self) -> dict[str, Any]:
        """Column values of a row that plays this step (on the condition's edge if it has one)."""
        if self.cond is None:
            return {}
        col, op, value = self.cond
        return {col: value if op in ("==", ">=") else value + "z"}

    def step(self) -> Step:
        if self.cond is None:
            return Step(SOURCES[self.source])
        col, op, value = self.cond
        return Step(SOURCES[self.source], lambda r: compare(op, r[col], value))


@dataclass(frozen=True)
class SequenceCase:
    steps: tuple[StepCase, ...]
    convert: timedelta | None
    window: Window
    convert_text: str | None = None  # e.g. '$recent' instead of the duration

    def text(self, func: str = "sequence") -> str:
        body = " then ".join(s.text() for s in self.steps)
        if self.convert is not None:
            body += f" convert {self.convert_text or duration_text(self.convert)}"
        return f"{func}({body}{window_text(self.window)})"

    def args(self) -> tuple:
        return [s.step() for s in self.steps], self.convert, self.window

    def edges(self) -> list[datetime]:
        """Where this case's window starts (and the previous calendar period's start)."""
        if isinstance(self.window, Rolling):
            return [NOW - self.window.duration]
        if isinstance(self.window, Calendar):
            start = date_trunc(self.window.unit, NOW)
            return [start, previous_period_start(self.window.unit, start)]
        if isinstance(self.window, Range):
            return [self.window.start, self.window.end]
        return []

    def gaps(self) -> list[timedelta]:
        """Gaps between the rows of a funnel: ties, 1 µs, and the convert edge ± 1 µs."""
        around = [] if self.convert is None else [self.convert - US, self.convert, self.convert + US]
        return [0 * US, US, H, D, *around, *around]


@st.composite
def step_cases(draw) -> StepCase:
    source = draw(st.sampled_from(sorted(SOURCES)))
    return StepCase(source, draw(st.sampled_from(CONDITIONS[source])))


@st.composite
def sequence_cases(draw, max_steps: int = 3, convert: bool = True, window: bool = True) -> SequenceCase:
    steps = tuple(draw(st.lists(step_cases(), min_size=2, max_size=max_steps)))
    return SequenceCase(steps,
                        draw(st.sampled_from([None, *CONVERTS])) if convert else None,
                        draw(st.sampled_from(WINDOWS)) if window else None)


# --- aggregates relative to the entity ----------------------------------------------------
@dataclass(frozen=True)
class RelativeCase:
    """``func(src[.col] where [name == 'a' and] TIME OP entity.ANCHOR + OFFSET)`` or
    ``func(src[.col] [where name == 'a'] between entity.ANCHOR + LO and entity.ANCHOR + HI)``,
    or the numeric ``count(orders where amount >= entity.ltv)``."""

    func: str
    source: str
    anchor: str
    op: str | None = None
    offset: timedelta = timedelta(0)
    bounds: tuple[timedelta, timedelta] | None = None
    named: bool = False

    @property
    def column(self) -> str | None:
        return "amount" if self.func == "sum" else None

    def _anchor(self, offset: timedelta) -> str:
        sign = "+" if offset >= timedelta(0) else "-"
        shift = "" if not offset else f" {sign} {duration_text(abs(offset))}"
        return f"entity.{self.anchor}{shift}"

    def text(self) -> str:
        arg = self.source if self.column is None else f"{self.source}.{self.column}"
        if self.anchor == "ltv":
            return f"{self.func}({arg} where amount >= entity.ltv)"
        time = SOURCES[self.source].time
        conds = ["name == 'a'"] if self.named else []
        if self.bounds is None:
            conds.append(f"{time} {self.op} {self._anchor(self.offset)}")
        where = f" where {' and '.join(conds)}" if conds else ""
        window = ("" if self.bounds is None else
                  f" between {self._anchor(self.bounds[0])} and {self._anchor(self.bounds[1])}")
        return f"{self.func}({arg}{where}{window})"

    def value(self, entity: Mapping[str, Any], data, now: datetime = NOW) -> Any:
        src = SOURCES[self.source]
        shift = lambda v, d: None if v is None else v + d  # noqa: E731  (NULL + d is NULL)

        def where(r, e):
            if self.anchor == "ltv":
                return compare(">=", r["amount"], e["ltv"])
            named = compare("==", r["name"], "a") if self.named else True
            if self.bounds is not None:
                return named
            return kleene_and(named, compare(self.op, r[src.time], shift(e[self.anchor], self.offset)))

        bounds = None
        if self.bounds is not None:
            bounds = lambda e: tuple(shift(e[self.anchor], d) for d in self.bounds)  # noqa: E731
        return relative_aggregate(self.func, self.column, src, entity, entity["id"], data, now,
                                  where=where, bounds=bounds)


OFFSETS = [timedelta(0), 7 * D, -D, 3 * D, H]


@st.composite
def relative_cases(draw) -> RelativeCase:
    func = draw(st.sampled_from(["count", "count", "sum"]))
    source = "orders" if func == "sum" else draw(st.sampled_from(sorted(SOURCES)))
    anchor = draw(st.sampled_from(["signup_at", "signup_at", "last_cart_at", "first_order_at"]
                                  + (["ltv"] if source == "orders" else [])))
    named = source == "events" and draw(st.booleans())
    if anchor != "ltv" and draw(st.booleans()):
        lo, hi = sorted(draw(st.lists(st.sampled_from(OFFSETS), min_size=2, max_size=2)))
        return RelativeCase(func, source, anchor, bounds=(lo, hi), named=named)
    return RelativeCase(func, source, anchor, draw(st.sampled_from(["<=", "<", ">", ">="])),
                        draw(st.sampled_from(OFFSETS)), named=named)


@dataclass(frozen=True)
class FixedCase:
    """An expression and its reference value on an entity view: for the combinations the
    generated cases do not make (a window with ``entity.``, ``entity.`` inside calendar
    functions)."""

    expr: str
    value_of: Callable[[Mapping[str, Any], Mapping[str, list[dict]]], Any]

    def text(self) -> str:
        return self.expr

    def value(self, entity: Mapping[str, Any], data, now: datetime = NOW) -> Any:
        return self.value_of(entity, data)


def _count(source: str, keep, window: Window = None):
    src = SOURCES[source]
    return lambda e, data: relative_aggregate(
        "count", None, src, e, e["id"], data, NOW,
        where=lambda r, x: kleene_and(keep(r, x), in_window(r[src.time], window, NOW)))


# a sequence feature that entity-relative cases read (sequences are joined before entity values)
SEQ_AB = "sequence(events where name == 'a' then events where name == 'b')"


def seq_ab(e: Mapping[str, Any], data) -> int:
    a, b = (Step(SOURCES["events"], (lambda v: lambda r: compare("==", r["name"], v))(v)) for v in "ab")
    return sequence([a, b], e["id"], data, NOW)


FIXED_RELATIVE = [
    FixedCase("count(orders where amount >= entity.seq_ab * 5)", _count(
        "orders", lambda r, x: compare(">=", r["amount"], x["seq_ab"] * 5))),
    FixedCase("count(orders where ordered_at <= add_months(entity.signup_at, 1))", _count(
        "orders", lambda r, x: compare("<=", r["ordered_at"], add_months(x["signup_at"], 1)))),
    FixedCase("count(orders where days_between(entity.signup_at, ordered_at) between 0 and 7)", _count(
        "orders", lambda r, x: kleene_and(compare("<=", 0, days_between(x["signup_at"], r["ordered_at"])),
                                          compare("<=", days_between(x["signup_at"], r["ordered_at"]), 7)))),
    FixedCase("count(events where ts > entity.first_order_at within last month)", _count(
        "events", lambda r, x: compare(">", r["ts"], x["first_order_at"]), Calendar("last", "month"))),
    FixedCase("count(orders where ordered_at >= entity.last_cart_at within 3d)", _count(
        "orders", lambda r, x: compare(">=", r["ordered_at"], x["last_cart_at"]), Rolling(3 * D))),
]


def relative_or_fixed_cases() -> st.SearchStrategy:
    return st.one_of(relative_cases(), relative_cases(), st.sampled_from(FIXED_RELATIVE))


# --- population ranks ---------------------------------------------------------------------
RANKED = {  # expression text -> its value on an entity view
    "ltv": lambda e, data: e["ltv"],
    "signup_at": lambda e, data: e["signup_at"],
    "count(orders)": lambda e, data: relative_aggregate(
        "count", None, SOURCES["orders"], e, e["id"], data, NOW),
    "sum(orders.amount within 30d)": lambda e, data: relative_aggregate(
        "sum", "amount", SOURCES["orders"], e, e["id"], data, NOW,
        where=lambda r, _: in_window(r["ordered_at"], Rolling(30 * D), NOW)),
    "sum(orders.amount where ordered_at > now - 30d)": lambda e, data: relative_aggregate(
        "sum", "amount", SOURCES["orders"], e, e["id"], data, NOW,
        where=lambda r, _: r["ordered_at"] > NOW - 30 * D),
    "max(orders.amount)": lambda e, data: relative_aggregate(
        "max", "amount", SOURCES["orders"], e, e["id"], data, NOW),
    "last_cart_at": lambda e, data: e["last_cart_at"],
    # ranks of values that need the other additions first (staged plan, sequence tables)
    "count(orders where ordered_at <= entity.signup_at + 7d)": lambda e, data: relative_aggregate(
        "count", None, SOURCES["orders"], e, e["id"], data, NOW,
        where=lambda r, x: compare("<=", r["ordered_at"], x["signup_at"] and x["signup_at"] + 7 * D)),
    "sequence(events where name == 'a' then orders convert 3d)": lambda e, data: sequence(
        [StepCase("events", ("name", "==", "a")).step(), Step(SOURCES["orders"])], e["id"], data, NOW,
        convert=3 * D),
}


@dataclass(frozen=True)
class RankCase:
    func: str  # percent_rank | ntile | top_n
    expr: str
    n: int | None = None
    param: str | None = None  # n given as this parameter ($name) instead of a literal

    def text(self) -> str:
        if self.n is None:
            return f"{self.func}({self.expr})"
        return f"{self.func}({self.expr}, {'$' + self.param if self.param else self.n})"


@st.composite
def rank_cases(draw) -> RankCase:
    func = draw(st.sampled_from(["percent_rank", "ntile", "top_n"]))
    expr = draw(st.sampled_from(sorted(RANKED)))
    n = None if func == "percent_rank" else draw(st.sampled_from([1, 2, 3, 4, 10]))
    param = f"n_{func}_{n}" if n is not None and draw(st.booleans()) else None
    return RankCase(func, expr, n, param)


# --- data ---------------------------------------------------------------------------------
def _maybe(strategy, weight: int = 3):
    """NULL once in ``weight + 1`` draws."""
    return st.tuples(st.integers(0, weight), strategy).map(lambda p: None if p[0] == weight else p[1])


@st.composite
def instants(draw, pool=INSTANTS) -> list[datetime]:
    """A handful of instants for one example, some moved by ±1 µs."""
    bases = draw(st.lists(st.sampled_from(pool), min_size=3, max_size=8, unique=True))
    return [b + draw(JITTER) for b in bases]


@st.composite
def shops(draw, month_ends: bool = False, funnels: tuple[SequenceCase, ...] = ()) -> dict[str, list[dict]]:
    """A random shop; with ``funnels``, each entity also gets rows playing those sequences'
    steps in order, starting on or next to a window edge, with gaps on the convert edge."""
    keys = draw(st.lists(st.sampled_from(KEYS), max_size=5, unique=True))
    times = st.sampled_from(draw(instants()))
    signups = st.sampled_from(draw(instants(INSTANTS + MONTH_ENDS if month_ends else INSTANTS)))
    customers = [{"id": k, "signup_at": draw(_maybe(signups)),
                  "ltv": draw(_maybe(st.sampled_from([0.0, 1.5, 2.25, 10.0, -3.5]))),
                  "code": draw(_maybe(st.sampled_from(["", "a", "é", "ABC", "123", "a:b", "-1"]))),
                  "birth": draw(_maybe(st.sampled_from([d.date() for d in MONTH_ENDS] + [date(2000, 2, 29)])))}
                 for k in keys]
    # each entity gets its own dense log (so later steps are reached); a few rows belong to
    # no entity (NULL key, or a key with no customer)
    def event(cid):
        return {"cid": cid, "ts": draw(_maybe(times, 6)),
                "name": draw(_maybe(st.sampled_from(["a", "b", "c"]), 6))}

    def order(cid):
        return {"cid": cid, "ordered_at": draw(_maybe(times, 6)),
                "status": draw(_maybe(st.sampled_from(["paid", "paid", "refunded"]))),
                "amount": draw(_maybe(st.sampled_from([0.25, 5.0, 10.0, 12.5])))}

    owners = [*keys, *draw(st.lists(st.sampled_from([None, 99]), max_size=2))]
    events = [event(k) for k in owners for _ in range(draw(st.integers(2, 8)))]
    orders = [order(k) for k in owners for _ in range(draw(st.integers(0, 5)))]
    tables = {"events": events, "orders": orders}
    for k, case in ((k, c) for k in keys for c in funnels if draw(st.booleans())):
        t = draw(st.sampled_from([*case.edges(), *case.edges(), draw(times)])) + draw(JITTER)
        for step in case.steps[:draw(st.integers(1, len(case.steps)))]:
            row = (event if step.source == "events" else order)(k)
            row.update(step.matching(), **{SOURCES[step.source].time: t})
            tables[step.source].append(row)
            t += draw(st.sampled_from(case.gaps()))
    return {"customers": customers, "events": events, "orders": orders}


def with_funnels(cases: st.SearchStrategy) -> st.SearchStrategy:
    """(cases, shop): a list of sequence cases and a shop with funnels through them."""
    return cases.flatmap(lambda cs: st.tuples(st.just(cs), shops(funnels=tuple(cs))))
