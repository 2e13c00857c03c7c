"""Resolve names and infer types over the AST; one ``visit_<Node>`` method per node class.

Results are kept beside the AST (keyed by ``id(node)``): the type of every node and what every
name is bound to.  Problems become diagnostics; nothing is raised here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence, TypeAlias, TypeVar

import ibis
import ibis.expr.datatypes as dt

from ..builtin import FUNCTIONS, CallInfo, Problem
from ..diagnostics import Diagnostic, Severity
from ..lang import ast as a
from ..lang.lexicon import duration_param
from ..lang.unparse import unparse
from ..plugin.types import EntityFunctionDef, FunctionDef
from .entity_functions import EntityFunctionValue, check_entity_function
from .entity_values import ENTITY_NAMESPACE, EntityValue, entity_value, not_constant
from . import ranges
from .schema import did_you_mean
from .sequences import check_sequence
from .types import INTERVAL, comparable, describe, is_numeric, is_temporal, type_of_value


@dataclass(frozen=True)
class EntityColumn:
    name: str


@dataclass(frozen=True)
class FeatureRef:
    name: str


@dataclass(frozen=True)
class SourceColumn:
    source: str
    name: str


@dataclass(frozen=True)
class NamespaceValue:
    """``rfm.label``: a per-entity value computed by a plugin namespace."""

    namespace: str
    name: str


Binding: TypeAlias = EntityColumn | FeatureRef | SourceColumn | NamespaceValue | EntityValue | EntityFunctionValue


# Nodes whose type never depends on context.
CONSTANT_TYPES: dict[type, dt.DataType] = {
    a.String: dt.string, a.Boolean: dt.boolean, a.Null: dt.null, a.DateLit: dt.date,
    a.TimestampLit: dt.timestamp, a.Now: dt.timestamp, a.Today: dt.date,
}


@dataclass(frozen=True)
class Scope:
    """Where an expression stands: on the entity row, or on the rows of ``source`` (bare names
    are its columns).  ``aggregate``: inside an aggregate over that source (its ``where`` or its
    time range bounds), where ``entity.NAME`` reads the entity's own values."""

    source: str | None = None
    aggregate: str | None = None


ENTITY = Scope()

_Unary = TypeVar("_Unary", a.Not, a.Neg)


@dataclass
class Env:
    """What names can resolve to."""

    entity: ibis.Schema
    sources: dict[str, ibis.Schema]
    source_time: dict[str, str | None]
    features: dict[str, a.Node]
    segments: set[str]
    params: dict[str, object]
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # features that did not parse (already reported)
    namespaces: dict[str, dict[str, dt.DataType]] = field(default_factory=dict)  # active: ns -> field -> type
    inactive: dict[str, str] = field(default_factory=dict)  # registered but off: ns -> its spec section
    # plugin entity functions: name -> (definition, its section's config or None when absent)
    entity_functions: dict[str, tuple[EntityFunctionDef, object]] = field(default_factory=dict)


class TypeChecker:
    def __init__(self, env: Env) -> None:
        self.env = env
        self.types: dict[int, dt.DataType] = {}
        self.bindings: dict[int, Binding] = {}
        self.diagnostics: list[Diagnostic] = []
        self.feature_types: dict[str, dt.DataType | None] = {}
        self._in_progress: set[str] = set()
        # dependencies of the expression being checked: ("feature"|"segment", name, node)
        self.refs: list[tuple[str, str, a.Node]] = []
        self.feature_refs: dict[str, list[tuple[str, str, a.Node]]] = {}
        # what a plugin section's entity expressions refer to: a rule calling one of the
        # section's entity functions depends on it too (a cycle through it is SR501)
        self.section_refs: dict[str, list[tuple[str, str, a.Node]]] = {}
        self.section: str | None = None  # the plugin section whose expressions are being checked
        # the expression being checked may read rows after now (`within next D`): a model's label
        # (SourceExpression.future); everywhere else that would read the future (SR435)
        self.future = False

    # -- entry points --------------------------------------------------------------------
    def check(self, node: a.Node, scope: Scope = ENTITY) -> dt.DataType | None:
        """Type of ``node`` or None when it has an error (already reported)."""
        constant = CONSTANT_TYPES.get(type(node))
        if constant is not None:
            self.types[id(node)] = constant
            return constant
        method: Callable[[a.Node, Scope], dt.DataType | None] | None = \
            getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            self.error("SR451", f"no type rule for {type(node).__name__}", node)
            return None
        t = method(node, scope)
        if t is not None:
            self.types[id(node)] = t
        return t

    def value(self, node: a.Node, scope: Scope = ENTITY) -> dt.DataType | None:
        """Like :meth:`check`, for a place that needs a value: a bare duration is an error."""
        t = self.check(node, scope)
        if t is not None and t.is_interval():
            if isinstance(node, a.Sequence):  # time_between(...) as a feature or an operand
                self.error("SR413", "time_between() is a duration: it can only be compared with a duration",
                           node, "e.g. time_between(...) <= 1d, or ... is null")
            else:
                self.error("SR413", "a duration can only be added to or subtracted from a date or timestamp",
                           node, "e.g. signup_at >= now - 30d")
            return None
        return t

    def feature_type(self, name: str) -> dt.DataType | None:
        if name in self.feature_types:
            return self.feature_types[name]
        if name in self._in_progress:  # a cycle; reported by the cycle pass
            return None
        self._in_progress.add(name)
        saved, self.refs = self.refs, []
        t = self.value(self.env.features[name])
        self.feature_refs[name] = self.refs
        self.refs = saved
        self._in_progress.discard(name)
        self.feature_types[name] = t
        return t

    def error(self, code: str, message: str, node: a.Node, hint: str | None = None,
              severity: Severity = Severity.ERROR) -> None:
        self.diagnostics.append(Diagnostic(code, message, node.span, severity, hint))

    # -- literals ------------------------------------------------------------------------
    def visit_Number(self, node: a.Number, scope: Scope) -> dt.DataType | None:
        if isinstance(node.value, int):
            return dt.int64 if self._in_range(node.value, node) else None
        if not math.isfinite(float(node.value)):
            self.error("SR414", f"number {unparse(node)[:40]}... is beyond the range of a double", node)
            return None
        return dt.float64

    def _in_range(self, value: int, node: a.Node, what: str = "integer") -> bool:
        if ranges.int64_fits(value):
            return True
        self.error("SR414", f"{what} {value} is out of the 64-bit range", node,
                   "the backends compute integers in 64 bits, from -2**63 to 2**63 - 1")
        return False

    def visit_Duration(self, node: a.Duration, scope: Scope) -> dt.DataType | None:
        return INTERVAL if self._shift_in_range(node.seconds, node) else None

    def _shift_in_range(self, seconds: int, node: a.Node, what: str = "duration") -> bool:
        if abs(seconds) <= ranges.MAX_SHIFT_SECONDS:
            return True
        self.error("SR417", f"{what} of {abs(seconds) // 86400} days is longer than the "
                   f"{ranges.MAX_SHIFT_DAYS} days (about 1000 years) a time can be moved", node)
        return False

    def visit_Param(self, node: a.Param, scope: Scope) -> dt.DataType | None:
        if node.name not in self.env.params:
            self.error("SR305", f"unknown parameter ${node.name}", node,
                       did_you_mean(node.name, self.env.params) or "declare it under params:")
            return None
        value = self.env.params[node.name]
        if isinstance(value, int) and not isinstance(value, bool) and not self._in_range(value, node):
            return None
        span = duration_param(value)
        if span is not None:
            return INTERVAL if self._shift_in_range(span.seconds, node, f"${node.name}: a duration") else None
        if isinstance(value, float) and not math.isfinite(value):
            self.error("SR414", f"${node.name} is {value}: not a finite number", node)
            return None
        return type_of_value(value)

    # -- names ---------------------------------------------------------------------------
    def visit_Name(self, node: a.Name, scope: Scope) -> dt.DataType | None:
        if scope.source is not None:
            return self._source_column(node, scope.source, node.name)
        if node.name in self.env.broken:
            return None
        if node.name in self.env.features:
            self.bindings[id(node)] = FeatureRef(node.name)
            self.refs.append(("feature", node.name, node))
            return self.feature_type(node.name)
        if node.name in self.env.entity:
            self.bindings[id(node)] = EntityColumn(node.name)
            return self.env.entity[node.name]
        options = list(self.env.entity.names) + list(self.env.features)
        hint = did_you_mean(node.name, options)
        if node.name in self.env.sources:
            hint = f"{node.name} is a source: aggregate it, e.g. count({node.name})"
        elif node.name in self.env.segments:
            hint = f"use segment('{node.name}') to test membership of a segment"
        self.error("SR301", f"unknown name {node.name!r}: not a column of the entity table or a feature",
                   node, hint)
        return None

    def visit_Dotted(self, node: a.Dotted, scope: Scope) -> dt.DataType | None:
        if node.namespace == ENTITY_NAMESPACE:
            return entity_value(self, node, scope)
        if node.namespace in self.env.namespaces and node.namespace not in self.env.sources:
            return self._namespace_value(node, scope)
        if node.namespace in self.env.inactive:
            section = self.env.inactive[node.namespace]
            self.error("SR313", f"{node.namespace}.{node.name} needs a {section}: section in the spec", node,
                       f"add a top-level {section}: section (see the plugin's documentation)")
            return None
        if node.namespace not in self.env.sources:
            self.error("SR302", f"unknown source {node.namespace!r}", node,
                       did_you_mean(node.namespace, self.env.sources))
            return None
        if scope.source is None:
            self.error("SR308", f"{node.namespace}.{node.name} is a source column; it can only be used "
                       "inside an aggregate", node, f"e.g. max({node.namespace}.{node.name})")
            return None
        if node.namespace != scope.source:
            self.error("SR308", f"inside an aggregate over {scope.source}, {node.namespace}.{node.name} "
                       "belongs to another source", node)
            return None
        return self._source_column(node, node.namespace, node.name)

    def _namespace_value(self, node: a.Dotted, scope: Scope) -> dt.DataType | None:
        fields = self.env.namespaces[node.namespace]
        if node.name not in fields:
            self.error("SR311", f"{node.namespace} has no value {node.name!r}", node,
                       did_you_mean(node.name, fields) or f"{node.namespace} has: {', '.join(fields)}")
            return None
        if scope.source is not None:
            self.error("SR308", f"{node.namespace}.{node.name} is a value per entity, not per row; it cannot "
                       f"be used inside an aggregate over {scope.source}", node)
            return None
        self.bindings[id(node)] = NamespaceValue(node.namespace, node.name)
        return fields[node.name]

    def _source_column(self, node: a.Node, source: str, column: str) -> dt.DataType | None:
        schema = self.env.sources[source]
        if column not in schema:
            hint = did_you_mean(column, schema.names)
            if column in self.env.entity and not hint:
                hint = "entity columns cannot be used inside an aggregate over a source"
            self.error("SR301", f"unknown column {column!r} in source {source!r}", node, hint)
            return None
        self.bindings[id(node)] = SourceColumn(source, column)
        return schema[column]

    # -- logic ---------------------------------------------------------------------------
    def _boolean(self, node: a.Node, scope: Scope, what: str) -> dt.DataType | None:
        t = self.value(node, scope)
        if t is not None and not (t.is_boolean() or t.is_null()):
            self.error("SR402", f"{what} must be true/false, got {describe(t)}", node)
            return None
        return t

    def _run(self, node: _Unary, kind: type[_Unary]) -> list[_Unary]:
        """``node`` and the ``kind`` nodes (``Not``, ``Neg``) stacked directly below it, outermost
        first: a run like ``not not not x`` is checked in one step, not one recursion per word."""
        run = [node]
        while True:
            below = run[-1].operand
            if not isinstance(below, kind):
                return run
            run.append(below)

    def visit_Not(self, node: a.Not, scope: Scope) -> dt.DataType | None:
        run = self._run(node, a.Not)
        if not self._boolean(run[-1].operand, scope, "the operand of 'not'"):
            return None
        self.types.update((id(n), dt.boolean) for n in run)
        return dt.boolean

    def visit_And(self, node: a.And | a.Or, scope: Scope) -> dt.DataType | None:
        word = "and" if isinstance(node, a.And) else "or"
        types = [self._boolean(o, scope, f"each side of '{word}'") for o in node.operands]
        return dt.boolean if all(types) else None

    visit_Or = visit_And

    def _comparable(self, node: a.Node, left: a.Node, right: a.Node, lt: dt.DataType | None,
                    rt: dt.DataType | None, what: str) -> bool:
        if lt is None or rt is None:
            return False
        if not comparable(lt, rt):
            self.error("SR401", f"cannot compare {describe(lt)} with {describe(rt)} in {what}", node)
            return False
        return True

    def durations(self, node: a.Node, operands: tuple[a.Node, ...], scope: Scope) -> list[dt.DataType | None]:
        """Types of the operands of a comparison: durations may be compared with durations
        (``time_between(...) <= 1d``); a duration against anything else is SR413."""
        types = [self.check(x, scope) for x in operands]
        known = [t for t in types if t is not None and not t.is_null()]
        if known and all(t.is_interval() for t in known):
            return types
        for i, (x, t) in enumerate(zip(operands, types)):
            if t is not None and t.is_interval():
                self.error("SR413", "a duration can only be added to or subtracted from a date or timestamp, "
                           "or compared with another duration", x, "e.g. signup_at >= now - 30d")
                types[i] = None
        return types

    def visit_Compare(self, node: a.Compare, scope: Scope) -> dt.DataType | None:
        lt, rt = self.durations(node, (node.left, node.right), scope)
        if lt is None or rt is None or not self._comparable(node, node.left, node.right, lt, rt, f"'{node.op}'"):
            return None
        if lt.is_boolean() and rt.is_boolean() and node.op not in ("==", "!="):
            self.error("SR401", f"true/false values can only be compared with == and !=, not '{node.op}'", node)
            return None
        if isinstance(node.left, a.Null) or isinstance(node.right, a.Null):
            self.error("SR407", f"'{node.op} null' is never true (comparisons with null are unknown)",
                       node, "use 'is null' or 'is not null'", Severity.WARNING)
        return dt.boolean

    def visit_InList(self, node: a.InList, scope: Scope) -> dt.DataType | None:
        ot = self.value(node.operand, scope)
        ok = ot is not None
        for item in node.items:
            it = self.value(item, scope)
            ok = self._comparable(item, node.operand, item, ot, it, "'in'") and ok
        return dt.boolean if ok else None

    def visit_Between(self, node: a.Between, scope: Scope) -> dt.DataType | None:
        ot, lo, hi = self.durations(node, (node.operand, node.low, node.high), scope)
        ok = self._comparable(node, node.operand, node.low, ot, lo, "'between'")
        ok = self._comparable(node, node.operand, node.high, ot, hi, "'between'") and ok
        if ok and any(t is not None and t.is_boolean() for t in (ot, lo, hi)):
            self.error("SR401", "'between' does not apply to true/false values", node)
            return None
        return dt.boolean if ok else None

    def visit_IsNull(self, node: a.IsNull, scope: Scope) -> dt.DataType | None:
        return dt.boolean if self.check(node.operand, scope) is not None else None

    # -- arithmetic ----------------------------------------------------------------------
    def visit_Neg(self, node: a.Neg, scope: Scope) -> dt.DataType | None:
        run = self._run(node, a.Neg)
        t = self.check(run[-1].operand, scope)
        if t is not None and not (is_numeric(t) or t.is_interval() or t.is_null()):
            self.error("SR403", f"cannot negate {describe(t)}", run[-1])
            return None
        if t is not None:
            self.types.update((id(n), t) for n in run)
        return t

    def visit_BinOp(self, node: a.BinOp, scope: Scope) -> dt.DataType | None:
        lt, rt = self.check(node.left, scope), self.check(node.right, scope)
        if lt is None or rt is None:
            return None
        if lt.is_null() or rt.is_null():
            return rt if lt.is_null() else lt
        if is_numeric(lt) and is_numeric(rt):
            if node.op == "/":
                return dt.float64
            if lt.is_floating() or rt.is_floating():
                return dt.float64
            if lt.is_decimal() or rt.is_decimal():
                return ranges.decimal_result(node.op, lt, rt)
            value = ranges.constant_int(node, self.env.params)  # computed by the backend in 64 bits
            if value is not None and not self._in_range(value, node, f"{unparse(node)[:60]} ="):
                return None
            return dt.int64
        if node.op in "+-" and is_temporal(lt) and rt.is_interval():
            return self._shift(lt, node.right) if self._shift_fits(node) else None
        if node.op == "+" and lt.is_interval() and is_temporal(rt):
            return self._shift(rt, node.left) if self._shift_fits(node) else None
        hint = None
        if is_temporal(lt) and is_temporal(rt) and node.op == "-":
            earlier, later = unparse(node.right), unparse(node.left)
            hint = (f"for the whole days from {earlier} to {later} use days_between({earlier}, {later}) "
                    "(or hours_between); or compare with now - 30d")
        self.error("SR403", f"cannot apply '{node.op}' to {describe(lt)} and {describe(rt)}", node, hint)
        return None

    def _shift_fits(self, node: a.BinOp) -> bool:
        """A time moved by constant durations: their sum is a duration in range, and a literal
        date or timestamp moved by it stays within the years 1 to 9999 (SR418)."""
        found = ranges.shifted(node, self.env.params)
        if found is None:
            return True
        base, seconds = found
        if not self._shift_in_range(seconds, node, "a time moved by a total"):
            return False
        start = ranges.literal_time(base)
        if start is not None and ranges.moved(start, seconds) is None:
            self.error("SR418", f"{unparse(node)[:80]} is outside the years 1 to 9999", node,
                       "dates and timestamps run from 0001-01-01 to 9999-12-31")
            return False
        return True

    @staticmethod
    def _shift(t: dt.DataType, duration: a.Node) -> dt.DataType:
        """date ± whole days/weeks stays a date; anything else is a timestamp."""
        if t.is_date() and isinstance(duration, a.Duration) and duration.unit in ("d", "w"):
            return dt.date
        return dt.timestamp

    # -- calls ---------------------------------------------------------------------------
    def visit_Call(self, node: a.Call, scope: Scope) -> dt.DataType | None:
        entity_function = self.env.entity_functions.get(node.name)
        if entity_function is not None:
            return check_entity_function(self, node, scope, *entity_function)
        fn = FUNCTIONS.get(node.name) or self.env.functions.get(node.name)
        if fn is not None and fn.population and scope.source is not None:
            self.error("SR421", f"{node.name}() compares entities with each other; it cannot be used inside "
                       f"an aggregate over {scope.source}", node,
                       f"rank outside the aggregate; ranking an aggregate is fine, e.g. "
                       f"{node.name}(count({scope.source}){'' if node.name == 'percent_rank' else ', 10'})")
            return None
        types = [self.value(arg, scope) for arg in node.args]
        if fn is None:
            options = list(FUNCTIONS) + list(self.env.functions)
            self.error("SR306", f"unknown function {node.name!r}", node, did_you_mean(node.name, options))
            return None
        if any(t is None for t in types):
            return None
        result = fn.check(CallInfo(node, types, self.env.params))
        if isinstance(result, Problem):
            self.error(result.code, result.message, result.node or node, result.hint)
            return None
        return result

    def window(self, window: a.Window | None, aggregate: str | None = None) -> bool:
        """Check an aggregate's or a sequence's time window; False when it has an error.
        ``aggregate``: the source of the aggregate whose window it is, where the bounds of a time
        range may read the entity's own values (``entity.signup_at``)."""
        if isinstance(window, a.Within):
            if window.ahead and not (self.future and aggregate is not None):
                self.error("SR435", f"'within next {unparse(window.duration)}' reads the rows after now: only "
                           "a model's label may (models: NAME: label:), in an aggregate", window,
                           f"for the last {unparse(window.duration)} write 'within {unparse(window.duration)}'")
                return False
            return self.duration(window.duration, "within") is not None
        if not isinstance(window, a.TimeRange):
            return True
        ok = True
        for bound in (window.start, window.end):
            if any(not_constant(n) or isinstance(n, a.Sequence) for n in bound.walk()):
                names = [n.name for n in bound.walk() if isinstance(n, a.Name)]
                own = [n for n in names if n in self.env.entity or n in self.env.features]
                self.error("SR412", "time range bounds must be constants (literals, now, today, "
                           "parameters) or the entity's own values (entity.NAME), not columns", bound,
                           f"for the entity's own value write entity.{own[0]}" if own and aggregate else None)
                ok = False
                continue
            bt = self.value(bound, Scope(aggregate=aggregate))
            if bt is not None and not (is_temporal(bt) or bt.is_null()):
                self.error("SR401", f"a time range bound must be a date or timestamp, got {describe(bt)}", bound)
                ok = False
        return ok

    def duration(self, node: a.Duration | a.Param, keyword: str) -> dt.DataType | None:
        """The type of the duration after ``within`` or ``convert``: a literal, or a parameter
        whose value is a duration (``params: {recent: 30d}``)."""
        t = self.check(node, ENTITY)
        if t is not None and not t.is_interval() and isinstance(node, a.Param):  # a literal is a duration
            self.error("SR416", f"'{keyword} ${node.name}' needs a duration parameter, ${node.name} is "
                       f"{describe(t)}", node, f"declare it as a duration, e.g. params: {{{node.name}: 30d}}")
            return None
        return t

    def visit_Sequence(self, node: a.Sequence, scope: Scope) -> dt.DataType | None:
        return check_sequence(self, node, scope)

    def visit_SegmentRef(self, node: a.SegmentRef, scope: Scope) -> dt.DataType | None:
        if scope.source is not None:
            self.error("SR309", "segment() cannot be used inside an aggregate", node)
            return None
        if node.name not in self.env.segments:
            self.error("SR304", f"unknown segment {node.name!r}", node,
                       did_you_mean(node.name, self.env.segments))
            return None
        self.refs.append(("segment", node.name, node))
        return dt.boolean

    def visit_Aggregate(self, node: a.Aggregate, scope: Scope) -> dt.DataType | None:
        if scope.source is not None or scope.aggregate is not None:
            self.error("SR309", "aggregates cannot be nested", node)
            return None
        if node.source == ENTITY_NAMESPACE and node.source not in self.env.sources:
            self.error("SR316", f"entity is not a source: {unparse(node)} cannot aggregate the customer's "
                       "own values", node, "compare entity.NAME inside an aggregate's where, or use NAME "
                       "directly on the entity row")
            return None
        if node.source not in self.env.sources:
            self.error("SR302", f"unknown source {node.source!r}", node,
                       did_you_mean(node.source, self.env.sources) or (
                           f"sources: {', '.join(self.env.sources)}" if self.env.sources else
                           "declare it under sources:"))
            return None
        inner = Scope(node.source, aggregate=node.source)
        ok = True
        if node.where is not None:
            ok = self._boolean(node.where, inner, "the 'where' of an aggregate") is not None
        time = self.env.source_time[node.source]
        if (node.window is not None or node.func in ("first", "last")) and time is None:
            self.error("SR408", f"source {node.source!r} has no time column, needed by "
                       f"{'first/last' if node.window is None else 'a time window'}", node,
                       f"add time: to sources.{node.source}")
            ok = False
        ok = self.window(node.window, aggregate=node.source) and ok
        if node.column is None:
            if node.func != "count":
                self.error("SR405", f"{node.func}() needs a column, e.g. {node.func}({node.source}.amount)", node)
                return None
            return dt.int64 if ok else None
        col_node = a.Dotted(node.source, node.column, span=node.span)
        ct = self._source_column(col_node, node.source, node.column)
        if ct is None or not ok:
            return None
        if node.func in ("count", "count_distinct"):
            return dt.int64
        if node.func in ("sum", "avg"):
            if not is_numeric(ct):
                self.error("SR405", f"{node.func}() needs a numeric column, {node.source}.{node.column} is "
                           f"{describe(ct)}", node)
                return None
            if node.func == "avg":  # float64 on every backend, whatever the column (docs/language.md)
                return dt.float64
            return dt.int64 if ct.is_integer() else ct
        return ct
