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
from typing import Iterator, Union

from ..diagnostics import Span

DURATION_SECONDS = {"s": 1, "min": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
AGGREGATE_FUNCS = ("count", "sum", "avg", "min", "max", "count_distinct", "first", "last")
COMPARE_OPS = ("==", "!=", "<", "<=", ">", ">=")
ARITH_OPS = ("+", "-", "*", "/", "%")


@dataclass(frozen=True)
class Node:
    span: Span | None = field(default=None, compare=False, repr=False, kw_only=True)

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


# --- literals -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Number(Node):
    value: int | Decimal


@dataclass(frozen=True)
class String(Node):
    value: str


@dataclass(frozen=True)
class Boolean(Node):
    value: bool


@dataclass(frozen=True)
class Null(Node):
    pass


@dataclass(frozen=True)
class DateLit(Node):
    value: date


@dataclass(frozen=True)
class TimestampLit(Node):
    value: datetime


@dataclass(frozen=True)
class Duration(Node):
    amount: int
    unit: str  # one of DURATION_SECONDS

    @property
    def seconds(self) -> int:
        return self.amount * DURATION_SECONDS[self.unit]


@dataclass(frozen=True)
class Now(Node):
    pass


@dataclass(frozen=True)
class Today(Node):
    pass


@dataclass(frozen=True)
class Param(Node):
    name: str


# --- names --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Name(Node):
    """A bare identifier: an entity column, a feature, or (inside an aggregate) a source column."""

    name: str


@dataclass(frozen=True)
class Dotted(Node):
    """``namespace.name``: a source column (inside aggregates) or a plugin-provided value."""

    namespace: str
    name: str


# --- operators ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Not(Node):
    operand: "Expr"


@dataclass(frozen=True)
class Neg(Node):
    operand: "Expr"


@dataclass(frozen=True)
class And(Node):
    """``a and b and ...``: one node for a whole chain (two or more operands), so a chain of
    hundreds of conditions nests one level deep, not hundreds."""

    operands: tuple["Expr", ...]


@dataclass(frozen=True)
class Or(Node):
    """``a or b or ...``: one node for a whole chain, as :class:`And`."""

    operands: tuple["Expr", ...]


@dataclass(frozen=True)
class Compare(Node):
    op: str  # one of COMPARE_OPS
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class BinOp(Node):
    op: str  # one of ARITH_OPS
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class InList(Node):
    operand: "Expr"
    items: tuple["Expr", ...]
    negated: bool = False


@dataclass(frozen=True)
class Between(Node):
    operand: "Expr"
    low: "Expr"
    high: "Expr"
    negated: bool = False


@dataclass(frozen=True)
class IsNull(Node):
    operand: "Expr"
    negated: bool = False


# --- calls --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Call(Node):
    """A scalar function: built-in (``lower``, ``days_since``...) or from a plugin."""

    name: str
    args: tuple["Expr", ...] = ()


@dataclass(frozen=True)
class SegmentRef(Node):
    """``segment('name')``: true when the entity is a member of that segment (never null)."""

    name: str


@dataclass(frozen=True)
class Within(Node):
    """``within D``: ``now - D < t <= now`` on the source's time column.  ``D`` is a duration
    literal or a duration parameter (``within $recent``), resolved when the plan is built."""

    duration: "Duration | Param"


@dataclass(frozen=True)
class TimeRange(Node):
    """``between T1 and T2`` on the source's time column: ``T1 <= t <= T2``."""

    start: "Expr"
    end: "Expr"


CALENDAR_PERIODS = ("this", "last")
CALENDAR_UNITS = ("day", "week", "month", "quarter", "year")


@dataclass(frozen=True)
class CalendarWindow(Node):
    """``within this month`` / ``within last week``: a calendar period in the spec's time zone.

    ``this``: from the start of the current ``unit`` (``date_trunc(unit, now)``) to ``now``;
    ``last``: the whole previous ``unit``, ``start - 1 unit <= t < start``.  Weeks start on
    Monday (ISO).
    """

    period: str  # one of CALENDAR_PERIODS
    unit: str  # one of CALENDAR_UNITS


Window = Union[Within, TimeRange, CalendarWindow]


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Step(Node):
    """One step of a sequence: the rows of ``source`` that satisfy ``where`` (all rows when None).
    Inside ``where``, bare names are the source's columns."""

    source: str
    where: "Expr | None" = None


@dataclass(frozen=True)
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


Expr = Union[
    Number, String, Boolean, Null, DateLit, TimestampLit, Duration, Now, Today, Param,
    Name, Dotted, Not, Neg, And, Or, Compare, BinOp, InList, Between, IsNull,
    Call, SegmentRef, Aggregate, Sequence,
]
