"""A plain-Python reference evaluator of the rule language: the semantic oracle.

It shares nothing with the compiler (no Ibis, no DuckDB, no ``segrules.compile``): it walks
the frozen AST of :mod:`segrules.lang.ast` over Python values, one entity row at a time, and
states the language's semantics in the most literal way we could write them.  The
differential test runs the same spec through segrules and through this module and compares
membership row by row; when they disagree, either side may be wrong, and this docstring plus
the code below is the contract to argue from.

Values
    ``None`` is SQL NULL (unknown).  Numbers are ``int`` (BIGINT) or ``float`` (DOUBLE;
    ``Decimal`` literals become floats).  Timestamps are naive ``datetime``, dates ``date``,
    durations ``timedelta``.

Three-valued logic
    Comparisons with NULL are NULL; ``and``/``or``/``not`` are Kleene; ``x in (a, b)`` is
    True if any item equals, else NULL if ``x`` or any item is NULL, else False; ``not in``
    and ``not between`` are the Kleene negations; ``between a and b`` is
    ``a <= x and x <= b``; ``is [not] null`` is never NULL.  A rule that ends NULL is not a
    match; ``segment('x')`` is plain membership, never NULL.

Arithmetic
    NULL in, NULL out.  ``/`` is true division; ``/`` and ``%`` by zero give NULL; ``%`` is
    truncating (the result has the dividend's sign); ``+ - *`` on two ints stay ints.
    timestamp ± duration -> timestamp; date ± whole-day duration -> date (a duration with a
    sub-day part promotes the date to its midnight timestamp).  A date compared with a
    timestamp is its midnight timestamp.

Time
    ``now`` is the evaluation time, ``today`` its date.  In an aggregate, source rows whose
    time is after ``now`` — and rows whose time is NULL, which cannot be placed in time at
    all (our decision) — are ignored entirely, before any window, ``where`` or ``first`` /
    ``last``.  ``within D`` keeps ``now - D < t <= now``; ``between T1 and T2`` keeps
    ``T1 <= t <= T2`` (T1/T2 evaluated on the entity row; a NULL bound keeps nothing).

Universe
    One row per entity-table row; with ``entity.time`` set, entities created after ``now``
    and entities whose creation time is NULL are left out.

Scalar functions
    NULL in, NULL out, except ``coalesce``/``least``/``greatest`` (which skip NULLs).
    ``matches`` is ``re.search``; ``upper``/``lower`` are Python's.  Where the backend's
    rules differ outside the contract — RE2's ``\\w \\d \\s \\b`` are ASCII-only, DuckDB
    upper-cases ``ß`` to ``ẞ`` rather than ``SS`` — the strategies stay on common ground.

Aggregates
    Over the entity's rows of the source (source key == entity key).  Inside ``where``, bare
    names and ``src.col`` are the source row's columns (nothing else: no fallback to the
    entity row).  ``count(src)`` counts rows, ``count(src.col)`` non-NULL values,
    ``count_distinct`` distinct non-NULL values; ``sum/avg/min/max`` skip NULLs; ``count``
    and ``sum`` of nothing are 0 (also for ``sum`` over only NULLs); ``avg/min/max`` of
    nothing are NULL; ``first``/``last`` skip NULLs too: the value on the row with the
    earliest/latest time among the rows passing the filters whose value is not NULL (so
    NULL only when there is no such row, "over no rows or only nulls").
"""

from __future__ import annotations

import functools

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Mapping

from segrules.lang import ast as A

__all__ = ["Context", "ReferenceError_", "eval_expr", "evaluate_rows", "evaluate_segments"]


class ReferenceError_(Exception):
    """The reference cannot evaluate this input (unknown name, ill-typed, unsupported)."""


# --- the evaluation context ---------------------------------------------------------------
@dataclass
class Source:
    table: str
    key: str
    time: str | None


@dataclass
class Model:
    """The parts of a spec the evaluator needs, with expressions already parsed."""

    entity_table: str
    entity_key: str
    entity_time: str | None
    sources: dict[str, Source]
    features: dict[str, A.Node]
    segments: dict[str, A.Node]


@dataclass
class Context:
    """Evaluation of one entity row.  ``scope`` is set inside an aggregate's ``where``."""

    now: datetime
    row: Mapping[str, Any]
    model: Model | None = None
    tables: Mapping[str, list[dict]] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    scope: tuple[str, Mapping[str, Any]] | None = None  # (source name, source row)
    _memo: dict = field(default_factory=dict)
    _active: set = field(default_factory=set)

    @property
    def key(self) -> Any:
        return self.row[self.model.entity_key] if self.model else None


# --- small semantic helpers ---------------------------------------------------------------
def as_timestamp(v: Any) -> Any:
    if isinstance(v, date) and not isinstance(v, datetime):
        return datetime(v.year, v.month, v.day)
    return v


def _comparable(a: Any, b: Any) -> tuple[Any, Any]:
    if isinstance(a, date) or isinstance(b, date):
        if isinstance(a, datetime) or isinstance(b, datetime):
            return as_timestamp(a), as_timestamp(b)
    if isinstance(a, bool) != isinstance(b, bool):
        raise ReferenceError_(f"cannot compare {a!r} with {b!r}")
    return a, b


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def compare(op: str, a: Any, b: Any) -> bool | None:
    if a is None or b is None:
        return None
    a, b = _comparable(a, b)
    try:
        return _COMPARE[op](a, b)
    except TypeError as exc:
        raise ReferenceError_(f"cannot compare {a!r} {op} {b!r}") from exc


def kleene_and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def kleene_or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def kleene_not(a: bool | None) -> bool | None:
    return None if a is None else not a


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _trunc_mod(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int):
        r = abs(a) % abs(b)
        return -r if a < 0 else r
    return math.fmod(a, b)


def arith(op: str, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if _is_number(a) and _is_number(b):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if b == 0:
            return None
        return a / b if op == "/" else _trunc_mod(a, b)
    if isinstance(b, timedelta) and op in "+-":
        if isinstance(a, timedelta):
            return a + b if op == "+" else a - b
        if isinstance(a, date) and not isinstance(a, datetime) and b % timedelta(days=1):
            a = as_timestamp(a)  # sub-day duration: the date becomes its midnight timestamp
        if isinstance(a, date):  # date or datetime
            return a + b if op == "+" else a - b
    if isinstance(a, timedelta) and op == "+" and isinstance(b, date):
        return arith("+", b, a)
    raise ReferenceError_(f"no arithmetic {a!r} {op} {b!r}")


def round_half_away(x: Any, digits: int = 0) -> Any:
    if x is None or digits is None:
        return None
    q = Decimal(1).scaleb(-digits)
    r = Decimal(x).quantize(q, rounding=ROUND_HALF_UP)  # HALF_UP = half away from zero
    return int(r) if isinstance(x, int) else float(r)


def date_trunc(unit: str, x: Any) -> Any:
    """A date stays a date for units of a day or more; otherwise the result is a timestamp."""
    if unit is None or x is None:
        return None
    if not isinstance(x, datetime) and unit not in ("hour", "minute"):
        return date_trunc(unit, as_timestamp(x)).date()
    t = as_timestamp(x)
    if unit == "year":
        return datetime(t.year, 1, 1)
    if unit == "quarter":
        return datetime(t.year, 3 * ((t.month - 1) // 3) + 1, 1)
    if unit == "month":
        return datetime(t.year, t.month, 1)
    if unit == "week":
        monday = t.date() - timedelta(days=t.weekday())
        return datetime(monday.year, monday.month, monday.day)
    if unit == "day":
        return datetime(t.year, t.month, t.day)
    if unit == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    if unit == "minute":
        return t.replace(second=0, microsecond=0)
    raise ReferenceError_(f"unknown date_trunc unit {unit!r}")


def previous_period_start(unit: str, start: datetime) -> datetime:
    """The start of the calendar period before the one starting at ``start``."""
    if unit == "week":
        return start - timedelta(days=7)
    if unit == "year":
        return datetime(start.year - 1, 1, 1)
    return date_trunc(unit, start - timedelta(days=1))  # day, month, quarter


def _strict(fn: Callable) -> Callable:
    """Null in, null out."""

    def wrapped(ctx: Context, *args: Any) -> Any:
        if any(a is None for a in args):
            return None
        return fn(ctx, *args)

    return wrapped


def _least(ctx: Context, *args: Any) -> Any:
    vals = [as_timestamp(a) if any(isinstance(b, datetime) for b in args) else a
            for a in args if a is not None]
    return min(vals) if vals else None


def _greatest(ctx: Context, *args: Any) -> Any:
    vals = [as_timestamp(a) if any(isinstance(b, datetime) for b in args) else a
            for a in args if a is not None]
    return max(vals) if vals else None


def _since(ctx: Context, x: Any, unit: timedelta) -> int:
    return (ctx.now - as_timestamp(x)) // unit  # floor division of timedeltas


SCALAR_FUNCS: dict[str, Callable[..., Any]] = {
    "lower": _strict(lambda ctx, s: s.lower()),
    "upper": _strict(lambda ctx, s: s.upper()),
    "trim": _strict(lambda ctx, s: s.strip(" \t\n\r\v\f")),  # ASCII whitespace, as documented
    "length": _strict(lambda ctx, s: len(s)),
    "contains": _strict(lambda ctx, s, sub: sub in s),
    "starts_with": _strict(lambda ctx, s, p: s.startswith(p)),
    "ends_with": _strict(lambda ctx, s, p: s.endswith(p)),
    "matches": _strict(lambda ctx, s, rx: re.search(rx, s) is not None),
    "coalesce": lambda ctx, *args: next((a for a in args if a is not None), None),
    "abs": _strict(lambda ctx, x: abs(x)),
    "round": lambda ctx, x, digits=0: round_half_away(x, digits),
    "least": _least,
    "greatest": _greatest,
    "days_since": _strict(lambda ctx, x: _since(ctx, x, timedelta(days=1))),
    "hours_since": _strict(lambda ctx, x: _since(ctx, x, timedelta(hours=1))),
    "date_trunc": lambda ctx, unit, x: date_trunc(unit, x),
    **{f"start_of_{unit}": (lambda unit: lambda ctx, x: date_trunc(unit, x))(unit)
       for unit in ("day", "week", "month", "quarter", "year")},
}


# --- aggregates ---------------------------------------------------------------------------
def _source_rows(agg: A.Aggregate, ctx: Context) -> tuple[Source, list[Mapping[str, Any]]]:
    if ctx.scope is not None:
        raise ReferenceError_("aggregate inside an aggregate's where")
    if ctx.model is None or agg.source not in ctx.model.sources:
        raise ReferenceError_(f"unknown source {agg.source!r}")
    src = ctx.model.sources[agg.source]
    key = ctx.key
    rows = [r for r in ctx.tables[src.table] if r.get(src.key) is not None and r[src.key] == key]
    if src.time is None:
        if agg.window is not None or agg.func in ("first", "last"):
            raise ReferenceError_(f"source {agg.source!r} has no time column")
        return src, rows
    # point in time: rows after now, and rows that cannot be placed in time, do not exist
    return src, [r for r in rows if r[src.time] is not None and r[src.time] <= ctx.now]


def _in_window(agg: A.Aggregate, src: Source, rows: list, ctx: Context) -> list:
    w = agg.window
    if w is None:
        return rows
    if isinstance(w, A.Within):
        start = ctx.now - timedelta(seconds=w.duration.seconds)
        return [r for r in rows if start < r[src.time] <= ctx.now]
    if isinstance(w, A.CalendarWindow):
        start = date_trunc(w.unit, ctx.now)
        if w.period == "this":
            return [r for r in rows if start <= r[src.time] <= ctx.now]
        previous = previous_period_start(w.unit, start)
        return [r for r in rows if previous <= r[src.time] < start]
    lo, hi = eval_expr(w.start, ctx), eval_expr(w.end, ctx)
    return [r for r in rows
            if compare("<=", lo, r[src.time]) is True and compare("<=", r[src.time], hi) is True]


def eval_aggregate(agg: A.Aggregate, ctx: Context) -> Any:
    src, rows = _source_rows(agg, ctx)
    rows = _in_window(agg, src, rows, ctx)
    if agg.where is not None:
        rows = [r for r in rows
                if eval_expr(agg.where, _scoped(ctx, agg.source, r)) is True]
    if agg.column is None:
        if agg.func != "count":
            raise ReferenceError_(f"{agg.func}({agg.source}) needs a column")
        return len(rows)
    col = agg.column
    if agg.func in ("first", "last"):  # the earliest/latest non-null value
        rows = [r for r in rows if r[col] is not None]
        if not rows:
            return None
        pick = min if agg.func == "first" else max
        return pick(rows, key=lambda r: r[src.time])[col]
    values = [r[col] for r in rows if r[col] is not None]
    if agg.func == "count":
        return len(values)
    if agg.func == "count_distinct":
        return len(set(values))
    if agg.func == "sum":
        if not values:
            return 0
        return math.fsum(values) if any(isinstance(v, float) for v in values) else sum(values)
    if not values:
        return None
    if agg.func == "avg":
        return math.fsum(values) / len(values)
    if agg.func == "min":
        return min(values)
    if agg.func == "max":
        return max(values)
    raise ReferenceError_(f"unknown aggregate {agg.func!r}")


def _scoped(ctx: Context, source: str, row: Mapping[str, Any]) -> Context:
    return Context(ctx.now, ctx.row, ctx.model, ctx.tables, ctx.params, (source, row),
                   ctx._memo, ctx._active)


# --- names, features, segments ------------------------------------------------------------
def _resolve_name(name: str, ctx: Context) -> Any:
    if ctx.scope is not None:
        source, srow = ctx.scope
        if name not in srow:
            raise ReferenceError_(f"{name!r} is not a column of source {source!r}")
        return srow[name]
    if name in ctx.row:
        return ctx.row[name]
    if ctx.model is not None and name in ctx.model.features:
        return _memoised(("feature", name), ctx, lambda: eval_expr(ctx.model.features[name], ctx))
    raise ReferenceError_(f"unknown name {name!r}")


def _memoised(key: tuple, ctx: Context, compute: Callable[[], Any]) -> Any:
    if key in ctx._memo:
        return ctx._memo[key]
    if key in ctx._active:
        raise ReferenceError_(f"cycle through {key[0]} {key[1]!r}")
    ctx._active.add(key)
    try:
        value = ctx._memo[key] = compute()
    finally:
        ctx._active.discard(key)
    return value


def is_member(segment: str, ctx: Context) -> bool:
    if ctx.model is None or segment not in ctx.model.segments:
        raise ReferenceError_(f"unknown segment {segment!r}")
    entity_ctx = Context(ctx.now, ctx.row, ctx.model, ctx.tables, ctx.params, None,
                         ctx._memo, ctx._active)
    rule = ctx.model.segments[segment]
    return _memoised(("segment", segment), entity_ctx,
                     lambda: eval_expr(rule, entity_ctx) is True)


# --- the evaluator ------------------------------------------------------------------------
def eval_expr(node: A.Node, ctx: Context) -> Any:
    """The value of ``node`` on the entity row of ``ctx`` (``None`` is NULL)."""
    if isinstance(node, A.Number):
        return float(node.value) if isinstance(node.value, Decimal) else node.value
    if isinstance(node, (A.String, A.Boolean, A.DateLit, A.TimestampLit)):
        return node.value
    if isinstance(node, A.Null):
        return None
    if isinstance(node, A.Duration):
        return timedelta(seconds=node.seconds)
    if isinstance(node, A.Now):
        return ctx.now
    if isinstance(node, A.Today):
        return ctx.now.date()
    if isinstance(node, A.Param):
        if node.name not in ctx.params:
            raise ReferenceError_(f"no value for parameter {node.name!r}")
        return ctx.params[node.name]
    if isinstance(node, A.Name):
        return _resolve_name(node.name, ctx)
    if isinstance(node, A.Dotted):
        if ctx.scope is None or ctx.scope[0] != node.namespace:
            raise ReferenceError_(f"{node.namespace}.{node.name} outside an aggregate over it")
        return _resolve_name(node.name, ctx)
    if isinstance(node, A.Not):
        return kleene_not(_truth(eval_expr(node.operand, ctx)))
    if isinstance(node, A.And):
        return functools.reduce(kleene_and, [_truth(eval_expr(o, ctx)) for o in node.operands])
    if isinstance(node, A.Or):
        return functools.reduce(kleene_or, [_truth(eval_expr(o, ctx)) for o in node.operands])
    if isinstance(node, A.Neg):
        v = eval_expr(node.operand, ctx)
        if v is None:
            return None
        if not (_is_number(v) or isinstance(v, timedelta)):
            raise ReferenceError_(f"cannot negate {v!r}")
        return -v
    if isinstance(node, A.Compare):
        return compare(node.op, eval_expr(node.left, ctx), eval_expr(node.right, ctx))
    if isinstance(node, A.BinOp):
        return arith(node.op, eval_expr(node.left, ctx), eval_expr(node.right, ctx))
    if isinstance(node, A.InList):
        x = eval_expr(node.operand, ctx)
        hits = [compare("==", x, eval_expr(item, ctx)) for item in node.items]
        result = True if True in hits else (None if None in hits else False)
        return kleene_not(result) if node.negated else result
    if isinstance(node, A.Between):
        x = eval_expr(node.operand, ctx)
        lo, hi = eval_expr(node.low, ctx), eval_expr(node.high, ctx)
        result = kleene_and(compare("<=", lo, x), compare("<=", x, hi))
        return kleene_not(result) if node.negated else result
    if isinstance(node, A.IsNull):
        return (eval_expr(node.operand, ctx) is not None) is node.negated
    if isinstance(node, A.Call):
        if node.name not in SCALAR_FUNCS:
            raise ReferenceError_(f"unknown function {node.name!r}")
        return SCALAR_FUNCS[node.name](ctx, *(eval_expr(a, ctx) for a in node.args))
    if isinstance(node, A.SegmentRef):
        return is_member(node.name, ctx)
    if isinstance(node, A.Aggregate):
        return eval_aggregate(node, ctx)
    raise ReferenceError_(f"no reference semantics for {type(node).__name__}")


def _truth(v: Any) -> bool | None:
    if v is None or isinstance(v, bool):
        return v
    raise ReferenceError_(f"expected a boolean, got {v!r}")


# --- whole specs --------------------------------------------------------------------------
def _parse(text_or_node: Any) -> A.Node:
    if isinstance(text_or_node, A.Node):
        return text_or_node
    from segrules.lang import parse_expr  # only for specs given as text

    return parse_expr(str(text_or_node))


def build_model(spec: Mapping[str, Any]) -> Model:
    """``spec`` is the plain dict form of a spec; expressions may be text or AST nodes."""
    sources = {
        name: Source(s["table"], s["key"], s.get("time"))
        for name, s in (spec.get("sources") or {}).items()
    }
    features = {name: _parse(e) for name, e in (spec.get("features") or {}).items()}
    segments = {}
    for name, seg in (spec.get("segments") or {}).items():
        segments[name] = _parse(seg["where"] if isinstance(seg, Mapping) else seg)
    entity = spec["entity"]
    return Model(entity["table"], entity["key"], entity.get("time"), sources, features, segments)


def evaluate_rows(
    spec: Mapping[str, Any],
    tables: Mapping[str, list[dict]],
    now: datetime,
    params: Mapping[str, Any] | None = None,
) -> dict[Any, dict[str, Any]]:
    """Per entity key: every segment's membership (bool) and every feature's value.
    ``params`` default to the spec's ``params:`` values."""
    model = build_model(spec)
    params = dict(spec.get("params") or {}, **(params or {}))
    out: dict[Any, dict[str, Any]] = {}
    for row in tables[model.entity_table]:
        if model.entity_time and (row[model.entity_time] is None or row[model.entity_time] > now):
            continue  # not created yet (or never placed in time): not in the universe
        ctx = Context(now, row, model, tables, params)
        values: dict[str, Any] = {name: is_member(name, ctx) for name in model.segments}
        for name in model.features:
            values[name] = _resolve_name(name, ctx)
        out[row[model.entity_key]] = values
    return out


def evaluate_segments(
    spec: Mapping[str, Any],
    tables: Mapping[str, list[dict]],
    now: datetime,
    params: Mapping[str, Any] | None = None,
) -> dict[str, set]:
    """Segment name -> the set of entity keys that are members at ``now``."""
    rows = evaluate_rows(spec, tables, now, params)
    names = list(build_model(spec).segments)
    return {name: {k for k, v in rows.items() if v[name]} for name in names}
