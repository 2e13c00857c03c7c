"""Hypothesis strategies: well-typed random rules over a fixed schema, and random data for it.

Schema::

    people(id BIGINT, age BIGINT?, score DOUBLE?, name VARCHAR?, country VARCHAR?,
           joined_at TIMESTAMP?, active BOOLEAN?)                       -- the entity, key id
    txns(id BIGINT, at TIMESTAMP, amount DOUBLE?, kind VARCHAR?)        -- source, key id, time at

Rules are generated as AST nodes (:mod:`segrules.lang.ast`) and printed to text by
:func:`to_text`, a small fully-parenthesising printer, so the reference evaluates the very
tree we meant and the parser is checked separately (``parse_expr(to_text(e)) == e``).

Determinism: data floats are multiples of 0.25 with small magnitudes, so ``+ - *`` and sums
are exact; values that went through ``/`` or ``avg`` (inexact) are only ever compared with
``< <= > >=`` or ``between``, never ``==``, ``!=`` or ``in``.  Source times fall on whole
hours (sometimes half hours) around :data:`NOW`, durations are whole hours/days/weeks, so
window bounds are hit exactly; ``(id, at)`` pairs are unique so ``first``/``last`` have no
ties.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from segrules.lang import ast as A

NOW = datetime(2024, 6, 15, 12, 0, 0)
ENTITY_COLUMNS = {"age": "num", "score": "num", "name": "str", "country": "str",
                  "joined_at": "ts", "active": "bool"}
SOURCE_COLUMNS = {"amount": "num", "kind": "str", "at": "ts"}
SOURCE = "txns"

STRINGS = ["", "a", "b", "A", "ab", "a b", " a", "%", "a_b", "a.b", "é", "US", "fr", "a'b", "\\"]
PATTERNS = ["a", "^a", "b$", "a.", "[ab]", "A|b", "^$", "[.]", "%", "é"]
UNITS = ["year", "quarter", "month", "week", "day", "hour", "minute"]
DURATIONS = [(1, "h"), (6, "h"), (12, "h"), (1, "d"), (2, "d"), (7, "d"), (30, "d"), (1, "w"),
             (2, "w"), (90, "min")]
SPEC_BASE = {
    "version": 1,
    "name": "t",
    "entity": {"table": "people", "key": "id"},
    "sources": {SOURCE: {"table": "txns", "key": "id", "time": "at"}},
}


# --- printing -----------------------------------------------------------------------------
_ATOMS = (A.Number, A.String, A.Boolean, A.Null, A.DateLit, A.TimestampLit, A.Duration, A.Now,
          A.Today, A.Name, A.Dotted, A.Call, A.SegmentRef, A.Aggregate, A.Param)


def _quote(s: str) -> str:
    """A single-quoted string literal; ``\\`` and ``'`` are backslash-escaped."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _op(node: A.Node) -> str:
    """An operand: atoms bare, everything else in parentheses."""
    return to_text(node) if isinstance(node, _ATOMS) else f"({to_text(node)})"


def to_text(node: A.Node) -> str:
    """Print an expression so that it parses back to ``node`` under any sane precedence."""
    if isinstance(node, A.Number):
        return str(node.value)
    if isinstance(node, A.String):
        return _quote(node.value)
    if isinstance(node, A.Boolean):
        return "true" if node.value else "false"
    if isinstance(node, A.Null):
        return "null"
    if isinstance(node, A.TimestampLit):
        return f"timestamp('{node.value.isoformat(sep=' ')}')"
    if isinstance(node, A.DateLit):
        return f"date('{node.value.isoformat()}')"
    if isinstance(node, A.Duration):
        return f"{node.amount}{node.unit}"
    if isinstance(node, A.Now):
        return "now"
    if isinstance(node, A.Today):
        return "today"
    if isinstance(node, A.Param):
        return f"${node.name}"
    if isinstance(node, A.Name):
        return node.name
    if isinstance(node, A.Dotted):
        return f"{node.namespace}.{node.name}"
    if isinstance(node, A.Not):
        return f"not {_op(node.operand)}"
    if isinstance(node, A.Neg):
        return f"-{_op(node.operand)}"
    if isinstance(node, (A.And, A.Or)):
        word = "and" if isinstance(node, A.And) else "or"
        return f" {word} ".join(_op(o) for o in node.operands)
    if isinstance(node, (A.Compare, A.BinOp)):
        return f"{_op(node.left)} {node.op} {_op(node.right)}"
    if isinstance(node, A.InList):
        items = ", ".join(to_text(i) for i in node.items)
        return f"{_op(node.operand)} {'not in' if node.negated else 'in'} ({items})"
    if isinstance(node, A.Between):
        word = "not between" if node.negated else "between"
        return f"{_op(node.operand)} {word} {_op(node.low)} and {_op(node.high)}"
    if isinstance(node, A.IsNull):
        return f"{_op(node.operand)} is {'not null' if node.negated else 'null'}"
    if isinstance(node, A.Call):
        return f"{node.name}({', '.join(to_text(a) for a in node.args)})"
    if isinstance(node, A.SegmentRef):
        return f"segment({_quote(node.name)})"
    if isinstance(node, A.Aggregate):
        out = node.source if node.column is None else f"{node.source}.{node.column}"
        if isinstance(node.window, A.TimeRange):  # `where c between ..` would be a Between
            out += f" where ({to_text(node.where)})" if node.where is not None else ""
        elif node.where is not None:
            out += f" where {_op(node.where)}"
        if isinstance(node.window, A.Within):
            out += f" within {to_text(node.window.duration)}"
        elif isinstance(node.window, A.TimeRange):
            out += f" between {_op(node.window.start)} and {_op(node.window.end)}"
        elif isinstance(node.window, A.CalendarWindow):
            out += f" within {node.window.period} {node.window.unit}"
        return f"{node.func}({out})"
    raise TypeError(f"cannot print {node!r}")


# --- expressions --------------------------------------------------------------------------
@dataclass(frozen=True)
class Env:
    """What names an expression may use.  ``features``: (name, type, inexact) triples, inexact
    meaning the value went through ``/`` or ``avg``."""

    columns: dict
    features: tuple = ()
    segments: tuple = ()
    in_source: bool = False


ENTITY_ENV = Env(ENTITY_COLUMNS)
SOURCE_ENV = Env(SOURCE_COLUMNS, in_source=True)


def inexact(node: A.Node, env: Env) -> bool:
    """Whether the value may carry a rounding error (so must not be compared with ``==``)."""
    features = {name: flag for name, _, flag in env.features}
    for sub in node.walk():
        if isinstance(sub, A.BinOp) and sub.op == "/":
            return True
        if isinstance(sub, A.Aggregate) and sub.func == "avg":
            return True
        if isinstance(sub, A.Name) and features.get(sub.name):
            return True
    return False


def _num_literal(draw) -> A.Number:
    if draw(st.booleans()):
        return A.Number(draw(st.integers(0, 5)))
    return A.Number(Decimal(draw(st.sampled_from(["0.5", "0.25", "1.5", "2.0", "2.75"]))))


def _feature(draw, env: Env, typ: str) -> A.Node | None:
    names = [f for f, t, _ in env.features if t == typ]
    return A.Name(draw(st.sampled_from(names))) if names else None


def _column(draw, env: Env, typ: str) -> A.Node | None:
    names = sorted(c for c, t in env.columns.items() if t == typ)
    if not names:
        return None
    col = draw(st.sampled_from(names))
    if env.in_source and draw(st.booleans()):
        return A.Dotted(SOURCE, col)
    return A.Name(col)


def _duration(draw) -> A.Duration:
    amount, unit = draw(st.sampled_from(DURATIONS))
    return A.Duration(amount, unit)


@st.composite
def window(draw) -> A.Node | None:
    kind = draw(st.sampled_from(["none", "none", "within", "within", "range", "calendar"]))
    if kind == "within":
        return A.Within(_duration(draw))
    if kind == "calendar":
        return A.CalendarWindow(draw(st.sampled_from(A.CALENDAR_PERIODS)), draw(st.sampled_from(A.CALENDAR_UNITS)))
    if kind == "range":
        lo = A.BinOp("-", A.Now(), _duration(draw))
        hi = draw(st.sampled_from([A.Now(), A.BinOp("-", A.Now(), A.Duration(1, "d")),
                                   A.Today(), A.BinOp("-", A.Today(), A.Duration(2, "d")),
                                   A.DateLit(NOW.date()), A.TimestampLit(NOW - timedelta(hours=5))]))
        return A.TimeRange(lo, hi)
    return None


@st.composite
def aggregate(draw, typ: str) -> A.Aggregate:
    choices = {
        "num": [("count", None), ("count", "amount"), ("count", "kind"),
                ("count_distinct", "kind"), ("count_distinct", "amount"), ("sum", "amount"),
                ("avg", "amount"), ("min", "amount"), ("max", "amount"),
                ("first", "amount"), ("last", "amount")],
        "str": [("first", "kind"), ("last", "kind"), ("min", "kind"), ("max", "kind")],
        "ts": [("min", "at"), ("max", "at"), ("last", "at")],
    }[typ]
    func, column = draw(st.sampled_from(choices))
    where = None
    if draw(st.booleans()):
        where = draw(expr("bool", 1, SOURCE_ENV))
    return A.Aggregate(func, SOURCE, column, where, draw(window()))


@st.composite
def expr(draw, typ: str, depth: int, env: Env = ENTITY_ENV) -> A.Node:
    """A well-typed expression of type ``typ`` (num, str, ts, bool) at most ``depth`` deep."""
    leaf = depth <= 0 or draw(st.integers(0, 3)) == 0
    return draw(_LEAVES[typ](env) if leaf else _COMPOUND[typ](depth - 1, env))


# leaves
@st.composite
def num_leaf(draw, env: Env) -> A.Node:
    options = ["lit", "col", "col", "feature", "param"]
    if not env.in_source:
        options += ["agg", "agg"]
    pick = draw(st.sampled_from(options))
    if pick == "param":
        return A.Param(draw(st.sampled_from(["n", "x"])))
    if pick == "col":
        return _column(draw, env, "num")
    if pick == "feature":
        return _feature(draw, env, "num") or _num_literal(draw)
    if pick == "agg":
        return draw(aggregate("num"))
    return _num_literal(draw)


@st.composite
def str_leaf(draw, env: Env) -> A.Node:
    pick = draw(st.sampled_from(["lit", "col", "col", "feature", "param"]
                                + ([] if env.in_source else ["agg"])))
    if pick == "param":
        return A.Param("s")
    if pick == "feature":
        return _feature(draw, env, "str") or _column(draw, env, "str")
    if pick == "col":
        return _column(draw, env, "str")
    if pick == "agg":
        return draw(aggregate("str"))
    return A.String(draw(st.sampled_from(STRINGS)))


@st.composite
def ts_leaf(draw, env: Env) -> A.Node:
    pick = draw(st.sampled_from(["col", "col", "now", "ago", "today", "feature", "param", "lit"]
                                + ([] if env.in_source else ["agg"])))
    if pick == "lit":
        t = draw(TIMES)
        return A.DateLit(t.date()) if draw(st.booleans()) else A.TimestampLit(t)
    if pick == "param":
        return A.Param("t")
    if pick == "feature":
        return _feature(draw, env, "ts") or _column(draw, env, "ts")
    if pick == "col":
        return _column(draw, env, "ts")
    if pick == "now":
        return A.Now()
    if pick == "today":
        return A.Today()
    if pick == "agg":
        return draw(aggregate("ts"))
    return A.BinOp("-", draw(st.sampled_from([A.Now(), A.Today()])), _duration(draw))


@st.composite
def bool_leaf(draw, env: Env) -> A.Node:
    options = ["lit", "null"]
    if "active" in env.columns:
        options += ["col", "col"]
    if env.segments:
        options += ["seg", "seg"]
    if any(t == "bool" for _, t, _ in env.features):
        options += ["feature"]
    pick = draw(st.sampled_from(options))
    if pick == "feature":
        return _feature(draw, env, "bool")
    if pick == "col":
        return A.Name("active")
    if pick == "seg":
        return A.SegmentRef(draw(st.sampled_from(env.segments)))
    if pick == "null":
        return A.IsNull(draw(expr(draw(st.sampled_from(["num", "str", "ts"])), 0, env)),
                        negated=draw(st.booleans()))
    return A.Boolean(draw(st.booleans()))


_LEAVES = {"num": num_leaf, "str": str_leaf, "ts": ts_leaf, "bool": bool_leaf}


# compound
@st.composite
def num_compound(draw, depth: int, env: Env) -> A.Node:
    sub = lambda: draw(expr("num", depth, env))  # noqa: E731
    pick = draw(st.sampled_from(["arith", "arith", "arith", "neg", "abs", "round", "coalesce",
                                 "least", "length", "since"]))
    if pick == "arith":
        return A.BinOp(draw(st.sampled_from(A.ARITH_OPS)), sub(), sub())
    if pick == "neg":
        return A.Neg(_column(draw, env, "num"))
    if pick == "abs":
        return A.Call("abs", (sub(),))
    if pick == "round":
        digits = draw(st.sampled_from([(), (A.Number(0),), (A.Number(1),)]))
        return A.Call("round", (sub(), *digits))
    if pick == "coalesce":
        return A.Call("coalesce", (sub(), _num_literal(draw)))
    if pick == "least":
        return A.Call(draw(st.sampled_from(["least", "greatest"])), (sub(), sub()))
    if pick == "length":
        return A.Call("length", (draw(expr("str", depth, env)),))
    ts = draw(expr("ts", depth, env))
    return A.Call(draw(st.sampled_from(["days_since", "hours_since"])), (ts,))


@st.composite
def str_compound(draw, depth: int, env: Env) -> A.Node:
    sub = draw(expr("str", depth, env))
    pick = draw(st.sampled_from(["lower", "upper", "trim", "coalesce"]))
    if pick == "coalesce":
        return A.Call("coalesce", (sub, A.String(draw(st.sampled_from(STRINGS)))))
    return A.Call(pick, (sub,))


@st.composite
def ts_compound(draw, depth: int, env: Env) -> A.Node:
    pick = draw(st.sampled_from(["shift", "trunc", "coalesce", "least"]))
    sub = draw(expr("ts", depth, env))
    if pick == "shift":
        return A.BinOp(draw(st.sampled_from("+-")), sub, _duration(draw))
    if pick == "trunc":
        if draw(st.booleans()):
            return A.Call(f"start_of_{draw(st.sampled_from(A.CALENDAR_UNITS))}", (sub,))
        return A.Call("date_trunc", (A.String(draw(st.sampled_from(UNITS))), sub))
    if pick == "coalesce":
        return A.Call("coalesce", (sub, A.BinOp("-", A.Now(), _duration(draw))))
    return A.Call(draw(st.sampled_from(["least", "greatest"])),
                  (sub, draw(expr("ts", depth, env))))


@st.composite
def comparison(draw, depth: int, env: Env) -> A.Node:
    typ = draw(st.sampled_from(["num", "num", "str", "ts", "bool"]))
    left, right = draw(expr(typ, depth, env)), draw(expr(typ, depth, env))
    ops = list(A.COMPARE_OPS)
    if typ == "bool":
        ops = ["==", "!="]
    elif inexact(left, env) or inexact(right, env):
        ops = ["<", "<=", ">", ">="]
    return A.Compare(draw(st.sampled_from(ops)), left, right)


@st.composite
def membership(draw, depth: int, env: Env) -> A.Node:
    typ = draw(st.sampled_from(["num", "str"]))
    operand = draw(expr(typ, depth, env))
    if inexact(operand, env):
        return A.Between(operand, _num_literal(draw), _num_literal(draw),
                         negated=draw(st.booleans()))
    literal = (lambda: _num_literal(draw)) if typ == "num" else \
        (lambda: A.String(draw(st.sampled_from(STRINGS))))
    items = tuple(draw(st.sampled_from([A.Null(), literal(), literal(), literal()]))
                  for _ in range(draw(st.integers(1, 3))))
    return A.InList(operand, items, negated=draw(st.booleans()))


@st.composite
def between(draw, depth: int, env: Env) -> A.Node:
    typ = draw(st.sampled_from(["num", "str", "ts"]))
    parts = [draw(expr(typ, depth if i == 0 else 0, env)) for i in range(3)]
    return A.Between(*parts, negated=draw(st.booleans()))


@st.composite
def string_test(draw, depth: int, env: Env) -> A.Node:
    fn = draw(st.sampled_from(["contains", "starts_with", "ends_with", "matches"]))
    s = draw(expr("str", depth, env))
    if fn == "matches":
        return A.Call(fn, (s, A.String(draw(st.sampled_from(PATTERNS)))))
    return A.Call(fn, (s, draw(expr("str", 0, env))))


@st.composite
def bool_compound(draw, depth: int, env: Env) -> A.Node:
    pick = draw(st.sampled_from(["and", "or", "not", "cmp", "cmp", "cmp", "in", "between",
                                 "str", "isnull", "coalesce"]))
    if pick in ("and", "or"):
        cls = A.And if pick == "and" else A.Or
        n = draw(st.integers(2, 3))
        return cls(tuple(draw(expr("bool", depth, env)) for _ in range(n)))
    if pick == "not":
        return A.Not(draw(expr("bool", depth, env)))
    if pick == "cmp":
        return draw(comparison(depth, env))
    if pick == "in":
        return draw(membership(depth, env))
    if pick == "between":
        return draw(between(depth, env))
    if pick == "str":
        return draw(string_test(depth, env))
    if pick == "coalesce":
        return A.Call("coalesce", (draw(expr("bool", depth, env)), A.Boolean(draw(st.booleans()))))
    typ = draw(st.sampled_from(["num", "str", "ts"]))
    return A.IsNull(draw(expr(typ, depth, env)), negated=draw(st.booleans()))


_COMPOUND = {"num": num_compound, "str": str_compound, "ts": ts_compound, "bool": bool_compound}


# --- whole rule sets ----------------------------------------------------------------------
@st.composite
def rule_sets(draw, max_depth: int = 3) -> dict[str, Any]:
    """A spec dict (expressions as AST nodes): parameters n, x (numbers), s (text) and t (a
    timestamp), 0-4 features of any type (their values are
    compared too, so they probe arithmetic and functions directly), 1-4 segments, where a
    later feature or segment may use an earlier feature by name and a later segment an
    earlier one through ``segment('...')``."""
    env = ENTITY_ENV
    features: dict[str, A.Node] = {}
    for i in range(draw(st.integers(0, 4))):
        typ = draw(st.sampled_from(["num", "num", "num", "str", "ts", "bool"]))
        node = draw(expr(typ, draw(st.integers(1, 3)), env))  # shallow ones probe one operator
        features[f"f{i}"] = node
        env = replace(env, features=env.features + ((f"f{i}", typ, inexact(node, env)),))
    segments: dict[str, dict] = {}
    for i in range(draw(st.integers(1, 4))):
        segments[f"s{i}"] = {"where": draw(expr("bool", max_depth, env))}
        env = replace(env, segments=env.segments + (f"s{i}",))
    entity = dict(SPEC_BASE["entity"])
    if draw(st.integers(0, 4)) == 0:  # sometimes the universe is point-in-time too
        entity["time"] = "joined_at"
    params = {"n": draw(st.integers(0, 5)), "x": draw(st.sampled_from([0.5, 2.25, -1.5])),
              "s": draw(st.sampled_from(STRINGS)), "t": draw(TIMES)}
    return dict(SPEC_BASE, entity=entity, params=params, features=features, segments=segments)


def spec_as_text(spec: dict[str, Any]) -> dict[str, Any]:
    """The same spec with every expression printed to text (ready for YAML)."""
    return dict(
        spec,
        features={k: to_text(v) for k, v in spec["features"].items()},
        segments={k: dict(v, where=to_text(v["where"])) for k, v in spec["segments"].items()},
    )


# --- data ---------------------------------------------------------------------------------
def _maybe(strategy, null_weight: int = 1):
    return st.one_of(*([st.none()] * null_weight), strategy, strategy, strategy)


QUARTERS = st.integers(-40, 80).map(lambda q: q / 4)  # multiples of 0.25: exact sums
BOUNDARY_HOURS = sorted({0, -1, -6, -12, -24, -48, -7 * 24, -14 * 24, -30 * 24, -2 * 24 + 1, 1})
HOURS = st.one_of(st.sampled_from(BOUNDARY_HOURS), st.integers(-24 * 70, 24 * 3))
TIMES = st.one_of(
    HOURS.map(lambda h: NOW + timedelta(hours=h)),
    HOURS.map(lambda h: NOW + timedelta(hours=h, minutes=30)),
    st.sampled_from([datetime(2024, 6, 15), datetime(2024, 6, 14, 23, 59, 59),
                     datetime(2024, 4, 1), datetime(2024, 6, 10)]),  # midnights, Monday
    # calendar period bounds around NOW (Saturday 2024-06-15): week, month, quarter, year starts
    st.sampled_from([datetime(2024, 6, 9, 23, 59, 59), datetime(2024, 6, 3), datetime(2024, 6, 2, 23, 59, 59),
                     datetime(2024, 6, 1), datetime(2024, 5, 31, 23, 59, 59), datetime(2024, 5, 1),
                     datetime(2024, 4, 30, 23, 59, 59), datetime(2024, 3, 31, 23, 59, 59), datetime(2024, 1, 1),
                     datetime(2023, 12, 31, 23, 59, 59), datetime(2023, 1, 1), datetime(2022, 12, 31, 23)]),
)
TEXT = st.sampled_from(STRINGS + ["  a  ", "B", "ÉA", "a%b", "\ta\n", "\r\x0ba\x0c "])  # data: any ASCII whitespace


@st.composite
def person(draw, key: int) -> dict:
    return {
        "id": key,
        "age": draw(_maybe(st.integers(0, 90))),
        "score": draw(_maybe(QUARTERS)),
        "name": draw(_maybe(TEXT)),
        "country": draw(_maybe(st.sampled_from(["US", "fr", "FR", "", " US", "de"]))),
        "joined_at": draw(_maybe(TIMES)),
        "active": draw(_maybe(st.booleans())),
    }


@st.composite
def datasets(draw) -> dict[str, list[dict]]:
    keys = draw(st.lists(st.integers(1, 40), max_size=30, unique=True))
    people = [draw(person(k)) for k in keys]
    txns, seen = [], set()
    owners = st.sampled_from(keys) if keys and draw(st.booleans()) else st.integers(1, 45)
    for _ in range(draw(st.integers(0, 60))):
        row = {
            "id": draw(st.one_of(owners, st.integers(1, 45))),
            "at": draw(TIMES),
            "amount": draw(_maybe(st.integers(-20, 80).map(lambda q: q / 4))),
            "kind": draw(_maybe(st.sampled_from(["a", "b", "c", "A", ""]))),
        }
        if (row["id"], row["at"]) not in seen:  # no time ties: first/last are defined
            seen.add((row["id"], row["at"]))
            txns.append(row)
    return {"people": people, "txns": txns}
