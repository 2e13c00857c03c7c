"""Typed AST -> Ibis expressions: one ``visit_<Node>`` method per node class.

Values reach the database only as Ibis literals.  A node with no translation raises
:class:`~segrules.errors.CompileError` — nothing unsupported passes silently.
"""

from __future__ import annotations

import math
import operator
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.operations as ops

from ..builtin import FUNCTIONS
from ..check import CheckedSpec
from ..check.entity_functions import EntityFunctionValue, LiteralValue
from ..check.entity_values import EntityValue
from ..check.typecheck import EntityColumn, FeatureRef, NamespaceValue, SourceColumn
from ..errors import CompileError
from ..lang import ast as a
from ..lang.lexicon import duration_param
from ..types import DataType
from .datatypes import ibis_dtype, to_ibis

if TYPE_CHECKING:
    import ibis.expr.types as ir

# The type a bare null argument takes for a simple-form function's argument category (FunctionDef.args).
NULL_AS = {"any": dt.string, "numeric": dt.float64, "integer": dt.int64, "string": dt.string,
           "boolean": dt.boolean, "date": dt.date, "timestamp": dt.timestamp, "temporal": dt.timestamp}

COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge}


def is_null_literal(expr: ir.Value) -> bool:
    op = expr.op()
    return isinstance(op, ops.Literal) and op.value is None


def duration(node: a.Duration) -> ir.IntervalValue:
    if node.unit in ("d", "w"):
        return ibis.interval(days=node.amount * (7 if node.unit == "w" else 1))
    return ibis.interval(seconds=node.seconds)


def now_value(now: datetime | ir.TimestampValue) -> ir.TimestampValue:
    """``now`` as an Ibis value: a timestamp literal, or a scalar parameter (``ibis.param``) when
    one plan is executed for many points in time (``segrules backfill``)."""
    return now if isinstance(now, ibis.Expr) else ibis.literal(now, type=dt.timestamp)


def float_literal(value: float) -> ir.Scalar:
    """A binary64 literal every backend reads as exactly ``value``. Ibis writes a float as bare
    text (``0.30000000000000004``), which DuckDB reads as a DECIMAL and converts to DOUBLE by a
    division that is exact only up to 15 significant digits: a longer one goes through a text
    cast (``CAST('...' AS DOUBLE)``, parsed as binary64), a shorter one stays as it reads."""
    text = repr(value)
    digits = len(text.split("e")[0].replace("-", "").replace(".", "").lstrip("0"))
    if digits <= 15 or not math.isfinite(value):
        return ibis.literal(value, type=dt.float64)
    return ibis.literal(text, type=dt.string).cast(dt.float64)


def literal(value: object) -> ir.Scalar:
    """An Ibis literal for a parameter value."""
    if isinstance(value, bool):
        return ibis.literal(value, type=dt.boolean)
    if isinstance(value, int):
        return ibis.literal(value, type=dt.int64)
    if isinstance(value, float):
        return float_literal(value)
    if isinstance(value, datetime):
        return ibis.literal(value, type=dt.timestamp)
    return ibis.literal(value)


_V = TypeVar("_V")


def balanced(combine: Callable[[_V, _V], _V], values: Sequence[_V]) -> _V:
    """``values`` combined pairwise as a balanced tree: ``(a & b) & (c & d)``, depth log2(n),
    for an associative ``combine`` (AND, OR under three-valued logic).  A left-deep chain of
    hundreds would nest hundreds of levels in the SQL."""
    while len(values) > 1:
        values = [combine(values[i], values[i + 1]) if i + 1 < len(values) else values[i]
                  for i in range(0, len(values), 2)]
    return values[0]


def _unwrap(node: a.Node, kind: type[a.Not] | type[a.Neg]) -> tuple[int, a.Node]:
    """How many ``kind`` nodes (``Not``, ``Neg``) are stacked from ``node`` down, and the node
    below them."""
    count = 0
    while isinstance(node, kind):
        count, node = count + 1, node.operand
    return count, node


class ExprCompiler:
    """Compiles expressions over ``table``: the joined entity table (``source is None``) or a
    source table inside an aggregate.  ``entity_value(name)`` gives ``entity.NAME`` on source
    rows that carry the entity's values (see :mod:`.staging`)."""

    def __init__(self, checked: CheckedSpec, table: ir.Table, now: datetime | ir.TimestampValue,
                 params: dict[str, Any],
                 *, source: str | None = None,
                 feature: Callable[[str], ir.Value] | None = None,
                 segment: Callable[[str], ir.BooleanValue] | None = None,
                 aggregate: Callable[[a.Aggregate], ir.Value] | None = None,
                 namespace: Callable[[str, str | tuple[LiteralValue, ...]], ir.Value] | None = None,
                 sequence: Callable[[a.Sequence], ir.Value] | None = None,
                 entity_value: Callable[[str], ir.Value] | None = None,
                 rank: Callable[[a.Call], ir.Value] | None = None,
                 dialect: str | None = None) -> None:
        self.checked = checked
        self.table = table
        self.now = now_value(now)
        self.today = ibis.literal(now.date(), type=dt.date) if isinstance(now, datetime) else self.now.cast(dt.date)
        self.params = params
        self.source = source
        self._feature, self._segment, self._aggregate = feature, segment, aggregate
        self._namespace, self._rank = namespace, rank
        self._sequence = sequence
        self._entity_value = entity_value
        self.dialect = dialect  # the target backend, for the faster ops of .backends
        self.type_of_call: dt.DataType | None = None
        # Ibis expressions are immutable, so equal literals and column references are built once
        # and shared: building an Ibis node costs tens of microseconds (a 500-segment plan).
        self._literals: dict[tuple[object, ...], ir.Value] = {}
        self._columns: dict[str, ir.Value] = {}

    def lit(self, value: object, dtype: dt.DataType) -> ir.Scalar:
        """The (shared) Ibis literal ``value`` of type ``dtype``."""
        key = (type(value), value.hex() if isinstance(value, float) else
               value if isinstance(value, (str, int)) else repr(value), dtype)
        found = self._literals.get(key)
        if found is None:
            found = self._literals[key] = (float_literal(value) if isinstance(value, float) and dtype.is_float64()
                                           else ibis.literal(value, type=dtype))
        return found

    def column(self, name: str) -> ir.Value:
        """The (shared) reference to column ``name`` of the compiler's table."""
        found = self._columns.get(name)
        if found is None:
            found = self._columns[name] = self.table[name]
        return found

    def compile(self, node: a.Node) -> ir.Value:
        method: Callable[[a.Node], ir.Value] | None = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise CompileError(f"no translation for {type(node).__name__}", span=node.span, code="SR450")
        return method(node)

    def type_of(self, node: a.Node) -> DataType:
        """The checked type of ``node`` (segrules' type; :func:`~.datatypes.to_ibis` makes it Ibis's)."""
        return self.checked.types[id(node)]

    # -- literals ------------------------------------------------------------------------
    def visit_Number(self, node: a.Number) -> ir.Value:
        if isinstance(node.value, int):
            return self.lit(node.value, dt.int64)
        return self.lit(float(node.value), dt.float64)

    def visit_String(self, node: a.String) -> ir.Value:
        return self.lit(node.value, dt.string)

    def visit_Boolean(self, node: a.Boolean) -> ir.Value:
        return self.lit(node.value, dt.boolean)

    def visit_Null(self, node: a.Null) -> ir.Value:
        return ibis.null()

    def visit_DateLit(self, node: a.DateLit) -> ir.Value:
        return self.lit(node.value, dt.date)

    def visit_TimestampLit(self, node: a.TimestampLit) -> ir.Value:
        return self.lit(node.value, dt.timestamp)

    def visit_Duration(self, node: a.Duration) -> ir.IntervalValue:
        return self.interval(node)

    def interval(self, node: a.Duration) -> ir.IntervalValue:
        """The (shared) Ibis interval of a duration."""
        key = ("interval", node.amount, node.unit)
        found = self._literals.get(key)
        if found is None:
            found = self._literals[key] = duration(node)
        return found

    def window_start(self, node: a.Duration) -> ir.TimestampValue:
        """``now - node`` (shared): where a ``within`` window starts."""
        key = ("window_start", node.amount, node.unit)
        found = self._literals.get(key)
        if found is None:
            found = self._literals[key] = self.now - self.interval(node)
        return found

    def visit_Now(self, node: a.Now) -> ir.TimestampValue:
        return self.now

    def visit_Today(self, node: a.Today) -> ir.DateValue:
        return self.today

    def visit_Param(self, node: a.Param) -> ir.Value:
        key = ("param", node.name)
        found = self._literals.get(key)
        if found is None:
            value = self.params[node.name]
            span = duration_param(value)
            found = self._literals[key] = literal(value) if span is None else self.interval(span)
        return found

    def micros(self, node: a.Node) -> ir.IntegerValue:
        """A duration-typed node as whole microseconds (int64), the form in which durations are
        compared: ``time_between(a then b) <= 1d``.  Ibis does not compare intervals of
        different units, and backends disagree on how to normalise them."""
        if isinstance(node, a.Neg):
            count, inner = _unwrap(node, a.Neg)
            return -self.micros(inner) if count % 2 else self.micros(inner)
        span = node if isinstance(node, a.Duration) else duration_param(self.params.get(node.name)) \
            if isinstance(node, a.Param) else None
        if span is not None:
            return self.lit(span.seconds * 1_000_000, dt.int64)
        if isinstance(node, a.Sequence):
            return self.compile(node)
        raise CompileError(f"no translation for a duration from {type(node).__name__}", span=node.span,
                           code="SR450")

    # -- names ---------------------------------------------------------------------------
    def visit_Name(self, node: a.Name | a.Dotted) -> ir.Value:
        binding = self.checked.bindings[id(node)]
        if isinstance(binding, FeatureRef) and self._feature is not None:
            return self._feature(binding.name)
        if isinstance(binding, (EntityColumn, SourceColumn)):
            return self.column(binding.name)
        if isinstance(binding, NamespaceValue) and self._namespace is not None:
            return self._namespace(binding.namespace, binding.name)
        if isinstance(binding, EntityValue) and self._entity_value is not None:
            return self._entity_value(binding.name)
        raise CompileError(f"no translation for name {node.name!r}", span=node.span)

    visit_Dotted = visit_Name

    def typed(self, node: a.Node, dtype: DataType | dt.DataType) -> ir.Value:
        """``node`` compiled; a bare ``null`` becomes a null of ``dtype``."""
        return ibis.null(to_ibis(dtype)) if self.type_of(node).is_null() else self.compile(node)

    # -- logic and comparison ------------------------------------------------------------
    def visit_Not(self, node: a.Not) -> ir.BooleanValue:
        # `not not x` is x for a true/false/unknown x (the type checker made x boolean or null),
        # so a run of `not` compiles to at most one NOT: no nesting for SQL generation to recurse
        # through.
        count, operand = _unwrap(node, a.Not)
        value = self.typed(operand, dt.boolean)
        return ~value if count % 2 else value

    def visit_And(self, node: a.And) -> ir.BooleanValue:
        return balanced(operator.and_, [self.typed(o, dt.boolean) for o in node.operands])

    def visit_Or(self, node: a.Or) -> ir.BooleanValue:
        return balanced(operator.or_, [self.typed(o, dt.boolean) for o in node.operands])

    def _pair(self, left: a.Node, right: a.Node) -> tuple[ir.Value, ir.Value]:
        """Both sides compiled, with null literals typed and dates lifted to timestamps where
        the other side is a timestamp."""
        lt, rt = self.type_of(left), self.type_of(right)
        if lt.is_interval() and rt.is_interval():
            return self.micros(left), self.micros(right)
        lv, rv = self.compile(left), self.compile(right)
        if lt.is_null() and not rt.is_null():
            lv = ibis.null(to_ibis(rt))
        elif rt.is_null() and not lt.is_null():
            rv = ibis.null(to_ibis(lt))
        if lt.is_date() and rt.is_timestamp():
            lv = lv.cast(dt.timestamp)
        elif rt.is_date() and lt.is_timestamp():
            rv = rv.cast(dt.timestamp)
        return lv, rv

    def _compare(self, op: str, left: a.Node, right: a.Node) -> ir.BooleanValue:
        # A comparison with a null literal is unknown.  Never hand Ibis ``x == NULL``: it
        # rewrites that to ``x IS NULL``, which is not SQL's three-valued logic.
        if self.type_of(left).is_null() or self.type_of(right).is_null():
            return ibis.null(dt.boolean)
        lv, rv = self._pair(left, right)
        if is_null_literal(lv) or is_null_literal(rv):  # e.g. `x == (y in (null))`
            return ibis.null(dt.boolean)
        return COMPARE[op](lv, rv)

    def visit_Compare(self, node: a.Compare) -> ir.BooleanValue:
        return self._compare(node.op, node.left, node.right)

    def visit_InList(self, node: a.InList) -> ir.BooleanValue:
        # ``x in (a, b)`` is ``x = a or x = b`` under three-valued logic, as SQL's IN is: one
        # IN (...) list however long (not a nested OR per item).  A null literal item stays in
        # the list, typed, so `x in (1, null)` is unknown for x = 2, as in SQL.
        ot = self.type_of(node.operand)
        if ot.is_null():
            return ibis.null(dt.boolean)
        temporal = ot.is_timestamp() or any(self.type_of(i).is_timestamp() for i in node.items)
        target = dt.timestamp if temporal and ot.is_date() else to_ibis(ot)

        def value(n: a.Expr) -> ir.Value:
            t = self.type_of(n)
            if t.is_null():
                return ibis.null(target)
            v = self.compile(n)
            return v.cast(dt.timestamp) if temporal and t.is_date() else v

        operand = value(node.operand)
        return operand.notin([value(i) for i in node.items]) if node.negated else \
            operand.isin([value(i) for i in node.items])

    def visit_Between(self, node: a.Between) -> ir.BooleanValue:
        result = self._compare(">=", node.operand, node.low) & self._compare("<=", node.operand, node.high)
        return ~result if node.negated else result

    def visit_IsNull(self, node: a.IsNull) -> ir.BooleanValue:
        value = self.compile(node.operand)
        return value.notnull() if node.negated else value.isnull()

    # -- arithmetic ----------------------------------------------------------------------
    def visit_Neg(self, node: a.Neg) -> ir.Value:
        # `- - x` is x (for every numeric type, duration and null; it only spares the overflow
        # of negating the smallest int64 twice), so a run of minus signs compiles to at most one
        # negation, as a run of `not` does.
        t = self.type_of(node)
        count, operand = _unwrap(node, a.Neg)
        value = self.typed(operand, dt.int64 if t.is_null() else t)
        return -value if count % 2 else value

    def visit_BinOp(self, node: a.BinOp) -> ir.Value:
        lt, rt = self.type_of(node.left), self.type_of(node.right)
        result_type = to_ibis(self.type_of(node))
        lv, rv = self.compile(node.left), self.compile(node.right)
        if lt.is_null() or rt.is_null():
            return ibis.null(result_type)
        if lt.is_interval() or rt.is_interval():
            if result_type.is_timestamp():
                lv = lv.cast(dt.timestamp) if lt.is_date() else lv
                rv = rv.cast(dt.timestamp) if rt.is_date() else rv
            return lv + rv if node.op == "+" else lv - rv
        if node.op == "/":
            return lv.cast(dt.float64) / rv.nullif(0)  # x / 0 is null on every backend
        decimal = lt.is_decimal() or rt.is_decimal()
        if decimal and result_type.is_floating():  # too wide for a decimal: computed as doubles
            lv, rv = lv.cast(dt.float64), rv.cast(dt.float64)
        if node.op == "%":
            value = lv % rv.nullif(0)
        else:
            value = {"+": operator.add, "-": operator.sub, "*": operator.mul}[node.op](lv, rv)
        # the checker's decimal type: every backend returns the same precision and scale
        return value.cast(result_type) if decimal and result_type.is_decimal() else value

    # -- calls ---------------------------------------------------------------------------
    def visit_Call(self, node: a.Call) -> ir.Value:
        result_type = to_ibis(self.type_of(node))
        binding = self.checked.bindings.get(id(node))
        if isinstance(binding, EntityFunctionValue):  # a plugin's per-entity column the plan joined
            if self._namespace is None:
                raise CompileError(f"{node.name}() is a value per entity", span=node.span, code="SR450")
            return self._namespace(binding.function, binding.args)
        fn = FUNCTIONS.get(node.name) or self.checked.functions.get(node.name)
        if fn is None:
            raise CompileError(f"no translation for function {node.name!r}", span=node.span, code="SR452")
        if fn.population:
            if self._rank is None:
                raise CompileError(f"{node.name}() needs the population of entities", span=node.span, code="SR450")
            return self._rank(node)  # a column the plan computed over every entity
        if fn.null_in_null_out and any(self.type_of(arg).is_null() for arg in node.args):
            return ibis.null(result_type)
        if fn.context:  # a bare null argument (coalesce(x, null)) is a null of the call's type
            args = [self.typed(arg, result_type) for arg in node.args]
            self.type_of_call = result_type  # after the arguments: nested calls set it too
            return fn.compile(self, args, list(node.args))
        cats = fn.categories(len(node.args))
        return fn.compile(*[self.typed(arg, NULL_AS.get(cat) or ibis_dtype(cat)) for arg, cat in zip(node.args, cats)])

    # segment(), aggregates and sequences stand on the entity row: a compiler over a source's rows
    # has none of them (the checker rejects them there, SR309/SR430)
    def visit_SegmentRef(self, node: a.SegmentRef) -> ir.BooleanValue:
        if self._segment is None:
            raise _misplaced(node)
        return self._segment(node.name)

    def visit_Aggregate(self, node: a.Aggregate) -> ir.Value:
        if self._aggregate is None:
            raise _misplaced(node)
        return self._aggregate(node)

    def visit_Sequence(self, node: a.Sequence) -> ir.Value:
        if self._sequence is None:
            raise _misplaced(node)
        return self._sequence(node)


def _misplaced(node: a.Node) -> CompileError:
    return CompileError(f"no translation for {type(node).__name__} over a source's rows", span=node.span,
                        code="SR450")
