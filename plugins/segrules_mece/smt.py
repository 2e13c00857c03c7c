"""Typed AST -> z3 formulas, with SQL's three-valued logic; one ``visit_<Node>`` method per node.

Every value is a :class:`Val`: a z3 term and an is-null flag.  A true/false value is true when
``v and not null``, false when ``not v and not null``, unknown otherwise: exactly how the engine
evaluates it (a segment whose rule ends unknown is not a match).

Two modes share this translator:

* **abstract** (``rows is None``): each aggregate is one variable with its domain, related to the
  other aggregates of its source by facts that always hold (:mod:`.aggregates`).  Constructs it
  cannot model exactly become fresh variables, which only widens what is possible: an "unsat" is
  a proof.
* **concrete** (``rows`` given): each source is a bounded list of symbolic rows and aggregates are
  computed from them exactly, so a model is a data set that can be inserted.  Constructs it cannot
  model exactly raise :class:`Unsupported`: a witness is never approximate.

Time: timestamps are Real seconds since the epoch, dates Int days; ``now`` is a variable (proofs
hold at every evaluation time) and ``today`` is the day of ``now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import z3

from segrules.plugin import (DataType, EntityColumn, EntityValue, FeatureRef, NamespaceValue, SourceColumn,
                             ast as a, duration_param, int_constant, unparse)

DAY = 86400
EPOCH = datetime(1970, 1, 1)


class Unsupported(Exception):
    """A construct with no exact translation (regex, lower(), non-linear arithmetic...)."""

    def __init__(self, reason: str, node: a.Node | None = None):
        super().__init__(reason)
        self.reason, self.node = reason, node


@dataclass(frozen=True)
class Val:
    v: object  # z3 term: Int, Real, String or Bool
    null: object  # z3 Bool
    kind: str  # "int" | "real" | "str" | "bool" | "date" | "ts"

    @property
    def true(self):
        return z3.And(self.v, z3.Not(self.null))

    @property
    def false(self):
        return z3.And(z3.Not(self.v), z3.Not(self.null))


FALSE, TRUE = z3.BoolVal(False), z3.BoolVal(True)


def kind_of(t: DataType) -> str:
    if t.is_boolean():
        return "bool"
    if t.is_integer():
        return "int"
    if t.is_floating() or t.is_decimal():
        return "real"
    if t.is_string():
        return "str"
    if t.is_date():
        return "date"
    if t.is_timestamp():
        return "ts"
    return "other"


def fresh(name: str, kind: str):
    sort = {"int": z3.IntSort(), "date": z3.IntSort(), "real": z3.RealSort(), "ts": z3.RealSort(),
            "str": z3.StringSort(), "bool": z3.BoolSort()}.get(kind)
    if sort is None:
        raise Unsupported(f"values of this type ({kind}) are not modelled")
    return z3.Const(name, sort)


def bool_val(true, false) -> Val:
    """A three-valued boolean from its 'is true' and 'is false' conditions."""
    return Val(true, z3.And(z3.Not(true), z3.Not(false)), "bool")


def const(value) -> Val:
    """A Python constant (literal or parameter) as a Val."""
    if value is None:
        return Val(FALSE, TRUE, "bool")
    if isinstance(value, bool):
        return Val(z3.BoolVal(value), FALSE, "bool")
    if isinstance(value, int):
        return Val(z3.IntVal(value), FALSE, "int")
    if isinstance(value, (float, Decimal)):
        return Val(z3.RealVal(str(value)), FALSE, "real")
    if isinstance(value, datetime):
        seconds = (value - EPOCH).total_seconds() if value.tzinfo is None else value.timestamp()
        return Val(z3.RealVal(str(Decimal(str(seconds)))), FALSE, "ts")
    if isinstance(value, date):
        return Val(z3.IntVal((value - EPOCH.date()).days), FALSE, "date")
    if isinstance(value, str):
        return Val(z3.StringVal(value), FALSE, "str")
    raise Unsupported(f"constant {value!r}")


def numeric(x: Val, kind: str):
    """``x`` as a term of ``kind`` (int -> real, date -> timestamp seconds)."""
    if x.kind == kind or (x.kind, kind) in (("date", "int"), ("int", "date"), ("ts", "real"), ("real", "ts")):
        return x.v
    if x.kind in ("int",) and kind in ("real", "ts"):
        return z3.ToReal(x.v)
    if x.kind == "date" and kind == "ts":
        return z3.ToReal(x.v * DAY)
    raise Unsupported(f"cannot relate a {x.kind} with a {kind}")


def common(x: Val, y: Val) -> str:
    kinds = {x.kind, y.kind}
    if len(kinds) == 1:
        return x.kind
    if kinds == {"date", "ts"}:
        return "ts"
    if kinds <= {"int", "real"}:
        return "real"
    raise Unsupported(f"cannot compare a {x.kind} with a {y.kind}")


CMP = {"==": lambda x, y: x == y, "!=": lambda x, y: x != y, "<": lambda x, y: x < y,
       "<=": lambda x, y: x <= y, ">": lambda x, y: x > y, ">=": lambda x, y: x >= y}


class Translator:
    """Translates the rules of one checked spec.  ``env`` holds the shared variables (columns,
    aggregates, ``now``) and the facts about them (``env.facts``)."""

    def __init__(self, checked, env, row=None):
        self.checked, self.env, self.row = checked, env, row

    @property
    def concrete(self) -> bool:
        return self.env.concrete

    def at_row(self, row) -> "Translator":
        return Translator(self.checked, self.env, row)

    def translate(self, node: a.Node) -> Val:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            return self.opaque(node, f"{type(node).__name__} is not modelled")
        return method(node)

    def opaque(self, node: a.Node, reason: str) -> Val:
        """A construct without an exact model: a fresh variable in abstract mode, else Unsupported."""
        if self.concrete:
            raise Unsupported(reason, node)
        self.env.approximations.append((node, reason))
        t = self.checked.type_of(node)
        kind = kind_of(t) if t is not None else "bool"
        key = ("opaque", node, self.row.name if self.row is not None else None)
        if key not in self.env.opaque:
            label = unparse(node)
            self.env.opaque[key] = Val(fresh(f"?{label}", kind), z3.Bool(f"?{label} is null"), kind)
        return self.env.opaque[key]

    def member(self, name: str):
        """The z3 condition 'the entity is in segment ``name``' (unknown counts as not)."""
        return self.env.segment(self, name)

    # -- literals ------------------------------------------------------------------------
    def visit_Number(self, node):
        return const(node.value)

    def visit_String(self, node):
        return const(node.value)

    def visit_Boolean(self, node):
        return const(node.value)

    def visit_Null(self, node):
        return const(None)

    def visit_DateLit(self, node):
        return const(node.value)

    def visit_TimestampLit(self, node):
        return const(node.value)

    def visit_Now(self, node):
        return Val(self.env.now, FALSE, "ts")

    def visit_Today(self, node):
        return Val(z3.ToInt(self.env.now / DAY), FALSE, "date")

    def visit_Param(self, node):
        if duration_param(self.env.params[node.name]) is not None:
            raise Unsupported("a duration on its own", node)
        return const(self.env.params[node.name])

    def visit_Duration(self, node):
        raise Unsupported("a duration on its own", node)

    # -- names ---------------------------------------------------------------------------
    def visit_Name(self, node):
        binding = self.checked.binding(node)
        if isinstance(binding, FeatureRef):
            return self.env.feature(self, binding.name)
        if isinstance(binding, EntityColumn):
            return self.env.entity_column(binding.name)
        if isinstance(binding, SourceColumn):
            return self.row.column(binding.name)
        if isinstance(binding, NamespaceValue):
            return self.env.namespace_value(binding.namespace, binding.name)
        if isinstance(binding, EntityValue):
            # entity.NAME inside an aggregate: the entity's own value, the same variable for every
            # row (exact in both modes: a feature is translated once, over all the source's rows)
            if binding.feature:
                return self.env.feature(self, binding.name)
            return self.env.entity_column(binding.name)
        return self.opaque(node, f"name {unparse(node)} is not modelled")

    visit_Dotted = visit_Name

    # -- logic ---------------------------------------------------------------------------
    def visit_Not(self, node):
        flips = 0
        while isinstance(node, a.Not):  # a run of `not` in one step (runs have no length limit)
            flips, node = flips + 1, node.operand
        x = self.translate(node)
        return bool_val(x.false, x.true) if flips % 2 else bool_val(x.true, x.false)

    def visit_And(self, node):
        xs = [self.translate(o) for o in node.operands]
        return bool_val(z3.And([x.true for x in xs]), z3.Or([x.false for x in xs]))

    def visit_Or(self, node):
        xs = [self.translate(o) for o in node.operands]
        return bool_val(z3.Or([x.true for x in xs]), z3.And([x.false for x in xs]))

    def compare(self, op: str, x: Val, y: Val) -> Val:
        if x.kind == "str" and y.kind == "str" and op not in ("==", "!="):
            raise Unsupported("ordering of strings depends on the database's collation")
        if "bool" in (x.kind, y.kind) and x.kind != y.kind:
            # a null literal (kind bool) against a typed value: always unknown
            if is_null_literal(x) or is_null_literal(y):
                return bool_val(FALSE, FALSE)
            raise Unsupported(f"cannot compare a {x.kind} with a {y.kind}")
        kind = common(x, y)
        holds = CMP[op](numeric(x, kind), numeric(y, kind))
        known = z3.And(z3.Not(x.null), z3.Not(y.null))
        return bool_val(z3.And(known, holds), z3.And(known, z3.Not(holds)))

    def visit_Compare(self, node):
        try:
            return self.compare(node.op, self.translate(node.left), self.translate(node.right))
        except Unsupported as exc:
            if exc.node is not None:
                raise
            return self.opaque(node, exc.reason)

    def visit_InList(self, node):
        try:
            x = self.translate(node.operand)
            if not node.items:
                result = bool_val(FALSE, z3.Not(x.null))
            else:
                terms = [self.compare("==", x, self.translate(item)) for item in node.items]
                result = bool_val(z3.Or([t.true for t in terms]), z3.And([t.false for t in terms]))
        except Unsupported as exc:
            if exc.node is not None:
                raise
            return self.opaque(node, exc.reason)
        return bool_val(result.false, result.true) if node.negated else result

    def visit_Between(self, node):
        try:
            x = self.translate(node.operand)
            lo = self.compare(">=", x, self.translate(node.low))
            hi = self.compare("<=", x, self.translate(node.high))
        except Unsupported as exc:
            if exc.node is not None:
                raise
            return self.opaque(node, exc.reason)
        result = bool_val(z3.And(lo.true, hi.true), z3.Or(lo.false, hi.false))
        return bool_val(result.false, result.true) if node.negated else result

    def visit_IsNull(self, node):
        x = self.translate(node.operand)
        return Val(z3.Not(x.null) if node.negated else x.null, FALSE, "bool")

    # -- arithmetic ----------------------------------------------------------------------
    def visit_Neg(self, node):
        flips, outer = 0, node
        while isinstance(node, a.Neg):  # a run of minus signs in one step
            flips, node = flips + 1, node.operand
        x = self.translate(node)
        if x.kind not in ("int", "real"):
            return self.opaque(outer, "negation of a non-number")
        return Val(-x.v if flips % 2 else x.v, x.null, x.kind)

    def _duration_seconds(self, node):
        sign = 1
        while isinstance(node, a.Neg):
            sign, node = -sign, node.operand
        if isinstance(node, a.Duration):
            return sign * node.seconds, node
        if isinstance(node, a.Param) and (span := duration_param(self.env.params.get(node.name))) is not None:
            return sign * span.seconds, node
        return None, node

    def visit_BinOp(self, node):
        t = self.checked.type_of(node)
        if t.is_null():
            return const(None)
        kind = kind_of(t)
        if kind in ("date", "ts"):
            return self._shift(node, kind)
        x, y = self.translate(node.left), self.translate(node.right)
        if is_null_literal(x) or is_null_literal(y):
            return null_of(kind)  # null in, null out
        if x.kind not in ("int", "real") or y.kind not in ("int", "real"):
            return self.opaque(node, f"'{node.op}' on {x.kind} and {y.kind}")
        null = z3.Or(x.null, y.null)
        if node.op in "+-*":
            xv, yv = numeric(x, kind), numeric(y, kind)
            if node.op == "*" and not (_is_constant(xv) or _is_constant(yv)) and not self.concrete:
                return self.opaque(node, "non-linear arithmetic (a product of two values)")
            value = xv + yv if node.op == "+" else xv - yv if node.op == "-" else xv * yv
            return Val(value, null, kind)
        if node.op == "/":
            xv, yv = numeric(x, "real"), numeric(y, "real")
            if not _is_constant(yv) and not self.concrete:
                return self.opaque(node, "non-linear arithmetic (division by a value)")
            return Val(xv / z3.If(yv == 0, z3.RealVal(1), yv), z3.Or(null, yv == 0), "real")
        return self.opaque(node, "'%' (remainder) is not modelled")

    def _shift(self, node, kind):
        """``temporal ± duration`` (either order for +)."""
        seconds, _ = self._duration_seconds(node.right)
        base = node.left
        if seconds is None and node.op == "+":
            seconds, _ = self._duration_seconds(node.left)
            base = node.right
        if seconds is None:
            return self.opaque(node, "date arithmetic with a non-literal duration")
        if node.op == "-":
            seconds = -seconds
        x = self.translate(base)
        if kind == "date":
            return Val(x.v + seconds // DAY, x.null, "date")
        return Val(numeric(x, "ts") + seconds, x.null, "ts")

    # -- calls ---------------------------------------------------------------------------
    def visit_Call(self, node):
        method = getattr(self, f"call_{node.name}", None)
        if method is None:
            return self.opaque(node, f"{node.name}() is not modelled")
        args = [self.translate(arg) for arg in node.args]
        if node.name != "coalesce" and any(is_null_literal(x) for x in args):
            return null_of(kind_of(self.checked.type_of(node)))  # null in, null out
        return method(node, args)

    def _since(self, args, unit):
        x = args[0]
        elapsed = self.env.now - numeric(x, "ts")
        return Val(z3.ToInt(elapsed / unit), x.null, "int")

    def call_days_since(self, node, args):
        return self._since(args, DAY)

    def call_hours_since(self, node, args):
        return self._since(args, 3600)

    def _between(self, args, unit):
        """Whole units from a to b, floored: exact on Real seconds (a date is its midnight)."""
        a, b = args
        return Val(z3.ToInt((numeric(b, "ts") - numeric(a, "ts")) / unit), z3.Or(a.null, b.null), "int")

    def call_days_between(self, node, args):
        return self._between(args, DAY)

    def call_hours_between(self, node, args):
        return self._between(args, 3600)

    def _bounded(self, node, args, reason, low=None, high=None, never_null=False):
        """An opaque value (see :meth:`opaque`) with the facts that hold for every entity of
        every population: null exactly when the first argument is (or never), and its range."""
        x = self.opaque(node, reason)
        self.env.facts.append(z3.Not(x.null) if never_null else x.null == z3.Or([arg.null for arg in args]))
        for bound, holds in ((low, lambda v, b: v >= b), (high, lambda v, b: v <= b)):
            if bound is not None:
                self.env.facts.append(z3.Implies(z3.Not(x.null), holds(x.v, bound)))
        return x

    def _n(self, node):
        return int_constant(node.args[-1], self.env.params)

    def call_percent_rank(self, node, args):
        return self._bounded(node, args, "percent_rank() depends on the whole population",
                             z3.RealVal(0), z3.RealVal(1))

    def call_ntile(self, node, args):
        return self._bounded(node, args[:1], "ntile() depends on the whole population", 1, self._n(node))

    def call_top_n(self, node, args):
        x = self._bounded(node, args[:1], "top_n() depends on the whole population", never_null=True)
        self.env.facts.append(z3.Implies(args[0].null, z3.Not(x.v)))  # null is never among the top
        return x

    def call_bucket(self, node, args):
        return self._bounded(node, args[:1], "bucket() (an MD5 hash) is not modelled", 0, self._n(node) - 1)

    def call_add_months(self, node, args):
        return self._bounded(node, args, "add_months() (calendar months) is not modelled")

    def call_length(self, node, args):
        return Val(z3.Length(args[0].v), args[0].null, "int")

    def _string_test(self, fn, args):
        s, p = args
        return Val(fn(s, p), z3.Or(s.null, p.null), "bool")

    def call_contains(self, node, args):
        return self._string_test(lambda s, p: z3.Contains(s.v, p.v), args)

    def call_starts_with(self, node, args):
        return self._string_test(lambda s, p: z3.PrefixOf(p.v, s.v), args)

    def call_ends_with(self, node, args):
        return self._string_test(lambda s, p: z3.SuffixOf(p.v, s.v), args)

    def call_abs(self, node, args):
        x = args[0]
        return Val(z3.If(x.v < 0, -x.v, x.v), x.null, x.kind)

    def call_coalesce(self, node, args):
        kind = kind_of(self.checked.type_of(node))
        typed = [x for x in args if not is_null_literal(x)]
        if not typed:
            return const(None)
        value, null = numeric(typed[-1], kind) if kind in ("int", "real", "ts") else typed[-1].v, typed[-1].null
        for x in reversed(typed[:-1]):
            xv = numeric(x, kind) if kind in ("int", "real", "ts") else x.v
            value, null = z3.If(x.null, value, xv), z3.And(x.null, null)
        return Val(value, null, kind)

    def visit_SegmentRef(self, node):
        return Val(self.member(node.name), FALSE, "bool")

    def visit_Sequence(self, node):
        """Modelled by its range only: ``sequence`` is a whole number of steps from 0 to the number
        of steps, never null (enough to prove ``== 0``, ``between 1 and 2``, ``== 3`` a partition);
        ``time_between`` is opaque.  A witness is never built from it."""
        value = self.opaque(node, f"{node.func}() is modelled by its range only")
        if node.func == "sequence":
            self.env.facts.append(z3.And(value.v >= 0, value.v <= len(node.steps), z3.Not(value.null)))
        return value

    def visit_Aggregate(self, node):
        if self.row is not None:
            raise Unsupported("aggregate inside an aggregate", node)
        return self.env.aggregate(self, node)


def within_seconds(params: dict, window: a.Within) -> int:
    """The length of a ``within`` window: its duration literal, or its duration parameter's value."""
    span = window.duration if isinstance(window.duration, a.Duration) else duration_param(
        params.get(window.duration.name))
    return span.seconds


def is_null_literal(x: Val) -> bool:
    return z3.is_true(z3.simplify(x.null))


def null_of(kind: str) -> Val:
    """A null of ``kind`` (its value is never looked at)."""
    zero = {"int": z3.IntVal(0), "date": z3.IntVal(0), "real": z3.RealVal(0), "ts": z3.RealVal(0),
            "str": z3.StringVal(""), "bool": FALSE}.get(kind, FALSE)
    return Val(zero, TRUE, kind if kind in ("int", "date", "real", "ts", "str") else "bool")


def _is_constant(term) -> bool:
    return z3.is_rational_value(z3.simplify(term)) or z3.is_int_value(z3.simplify(term))
