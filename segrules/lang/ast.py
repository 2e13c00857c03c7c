"""Frozen AST nodes of the expression language.

Every node carries a :class:`~segrules.diagnostics.Span` in ``span``; spans do not take part
in equality, so ``parse(unparse(e)) == e`` compares structure only.  The Lark tree never
leaves :mod:`segrules.lang`: later stages see only these classes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Iterator, TypeAlias, Union

from ..diagnostics import Span

DURATION_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
AGGREGATE_FUNCS = ("count", "sum", "avg", "min", "max", "count_distinct", "first", "last")
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")
ARITH_OPS = ("+", "-", "*", "/", "%")


@dataclass(frozen=True, eq=False)
class Node:
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)

    # Equality and hashing compare structure (never spans) and are iterative, with the hash
    # cached on the node: an expression may nest as deep as the parser allows (a run of `not`
    # has no limit), and the generated dataclass methods would recurse once per level.
    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        pairs: list[tuple[Node, Node]] = [(self, other)]
        while pairs:
            x, y = pairs.pop()
            if x is y:
                continue
            if type(x) is not type(y) or hash(x) != hash(y):
                return False
            for name in _compared_fields(type(x)):
                vx, vy = getattr(x, name), getattr(y, name)
                if isinstance(vx, tuple) and isinstance(vy, tuple) and len(vx) == len(vy):
                    for ix, iy in zip(vx, vy):
                        if isinstance(ix, Node) and isinstance(iy, Node):
                            pairs.append((ix, iy))
                        elif isinstance(ix, Node) or isinstance(iy, Node) or ix != iy:
                            return False
                elif isinstance(vx, Node) and isinstance(vy, Node):
                    pairs.append((vx, vy))
                elif isinstance(vx, Node) or isinstance(vy, Node) or vx != vy:
                    return False
        return True

    def __hash__(self) -> int:
        cached: int | None = self.__dict__.get("_hash")
        if cached is not None:
            return cached
        pending: list[Node] = []
        stack: list[Node] = [self]
        while stack:  # the nodes below without a hash yet, parents before children
            node = stack.pop()
            if "_hash" not in node.__dict__:
                pending.append(node)
                stack.extend(node.children())
        for node in reversed(pending):  # children first
            parts: list[object] = [type(node).__name__]
            for name in _compared_fields(type(node)):
                value = getattr(node, name)
                if isinstance(value, tuple):
                    value = tuple(v.__dict__["_hash"] if isinstance(v, Node) else v for v in value)
                elif isinstance(value, Node):
                    value = value.__dict__["_hash"]
                parts.append(value)
            object.__setattr__(node, "_hash", hash(tuple(parts)))
        computed: int = self.__dict__["_hash"]
        return computed

    def children(self) -> Iterator["Node"]:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Node):
                yield value
            elif isinstance(value, tuple):
                yield from (v for v in value if isinstance(v, Node))

    def walk(self) -> Iterator["Node"]:
        """This node and all below it, parents first (depth-first, children in order).
        Iterative: an expression may nest as deep as the parser allows."""
        stack: list[Node] = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(list(node.children())))


# A dict, not functools.lru_cache: a class whose instances define __hash__ is not `Hashable` to
# mypy (its protocol check looks at the instance method), so the cached function would not type.
_COMPARED_FIELDS: dict[type[Node], tuple[str, ...]] = {}


def _compared_fields(cls: type[Node]) -> tuple[str, ...]:
    names = _COMPARED_FIELDS.get(cls)
    if names is None:
        names = _COMPARED_FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls) if f.compare)
    return names


# --- literals -----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Number(Node):
    value: int | Decimal


@dataclass(frozen=True, eq=False)
class String(Node):
    value: str


@dataclass(frozen=True, eq=False)
class Boolean(Node):
    value: bool


@dataclass(frozen=True, eq=False)
class Null(Node):
    pass


@dataclass(frozen=True, eq=False)
class DateLit(Node):
    value: date


@dataclass(frozen=True, eq=False)
class TimestampLit(Node):
    value: datetime


@dataclass(frozen=True, eq=False)
class Duration(Node):
    amount: int
    unit: str  # one of DURATION_SECONDS

    @property
    def seconds(self) -> int:
        return self.amount * DURATION_SECONDS[self.unit]


@dataclass(frozen=True, eq=False)
class Now(Node):
    pass


@dataclass(frozen=True, eq=False)
class Today(Node):
    pass


@dataclass(frozen=True, eq=False)
class Param(Node):
    name: str


# --- names --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Name(Node):
    """A bare identifier: an entity column, a feature, or (inside an aggregate) a source column."""

    name: str


@dataclass(frozen=True, eq=False)
class Dotted(Node):
    """``namespace.name``: a source column (inside aggregates) or a plugin-provided value."""

    namespace: str
    name: str


# --- operators ----------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Not(Node):
    operand: "Expr"


@dataclass(frozen=True, eq=False)
class Neg(Node):
    operand: "Expr"


@dataclass(frozen=True, eq=False)
class And(Node):
    """``a and b and ...``: one node for a whole chain (two or more operands), so a chain of
    hundreds of conditions nests one level deep, not hundreds."""

    operands: tuple["Expr", ...]


@dataclass(frozen=True, eq=False)
class Or(Node):
    """``a or b or ...``: one node for a whole chain, as :class:`And`."""

    operands: tuple["Expr", ...]


@dataclass(frozen=True, eq=False)
class Compare(Node):
    op: str  # one of COMPARE_OPS
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, eq=False)
class BinOp(Node):
    op: str  # one of ARITH_OPS
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True, eq=False)
class InList(Node):
    operand: "Expr"
    items: tuple["Expr", ...]
    negated: bool = False


@dataclass(frozen=True, eq=False)
class Between(Node):
    operand: "Expr"
    low: "Expr"
    high: "Expr"
    negated: bool = False


@dataclass(frozen=True, eq=False)
class IsNull(Node):
    operand: "Expr"
    negated: bool = False


# --- calls --------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Call(Node):
    """A scalar function: built-in (``lower``, ``days_since``...) or from a plugin."""

    name: str
    args: tuple["Expr", ...] = ()


@dataclass(frozen=True, eq=False)
class SegmentRef(Node):
    """``segment('name')``: true when the entity is a member of that segment (never null)."""

    name: str


@dataclass(frozen=True, eq=False)
class Within(Node):
    """``within D``: ``now - D < t <= now`` on the source's time column.  ``D`` is a duration
    literal or a duration parameter (``within $recent``), resolved when the plan is built.

    ``ahead``: ``within next D``, ``now < t <= now + D``: the rows *after* now.  Only a
    predictive model's label may read them (the checker rejects it elsewhere, SR435)."""

    duration: "Duration | Param"
    ahead: bool = False


@dataclass(frozen=True, eq=False)
class TimeRange(Node):
    """``between T1 and T2`` on the source's time column: ``T1 <= t <= T2``."""

    start: "Expr"
    end: "Expr"


CALENDAR_PERIODS = ("this", "last")
CALENDAR_UNITS = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True, eq=False)
class CalendarWindow(Node):
    """``within this month`` / ``within last week``: a calendar period in the spec's time zone.

    ``this``: from the start of the current ``unit`` (``date_trunc(unit, now)``) to ``now``;
    ``last``: the whole previous ``unit``, ``start - 1 unit <= t < start``.  Weeks start on
    Monday (ISO).
    """

    period: str  # one of CALENDAR_PERIODS
    unit: str  # one of CALENDAR_UNITS


Window: TypeAlias = Union[Within, TimeRange, CalendarWindow]


@dataclass(frozen=True, eq=False)
class Aggregate(Node):
    """``func(source[.column] [where cond] [within D | between T1 and T2])``.

    ``column`` is None for ``count(source)``.  Inside ``where``, bare names are the source's
    columns.
    """

    func: str  # one of AGGREGATE_FUNCS
    source: str
    column: str | None = None
    where: "Expr | None" = None
    window: "Window | None" = None


SEQUENCE_FUNCS = ("sequence", "time_between")


@dataclass(frozen=True, eq=False)
class Step(Node):
    """One step of a sequence: the rows of ``source`` that satisfy ``where`` (all rows when None).
    Inside ``where``, bare names are the source's columns."""

    source: str
    where: "Expr | None" = None


@dataclass(frozen=True, eq=False)
class Sequence(Node):
    """``sequence(STEP then STEP ... [convert D] [within W])`` and ``time_between(...)``.

    ``sequence``: the furthest step reached in order (int, 0 without a step-1 row);
    ``time_between``: the shortest time from step 1 to the last step over the attempts that
    reach it (a duration, or null).  An attempt starts at any step-1 row; step k+1 is a row of
    its step strictly later than the row used for step k; with ``convert D`` every step is at
    most D after the attempt's step-1 time; ``window`` limits the rows of every step.
    """

    func: str  # one of SEQUENCE_FUNCS
    steps: tuple[Step, ...]
    convert: "Duration | Param | None" = None
    window: "Window | None" = None


Expr: TypeAlias = Union[
    Number, String, Boolean, Null, DateLit, TimestampLit, Duration, Now, Today, Param,
    Name, Dotted, Not, Neg, And, Or, Compare, BinOp, InList, Between, IsNull,
    Call, SegmentRef, Aggregate, Sequence,
]
