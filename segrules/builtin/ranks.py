"""Ranks over the population: ``percent_rank(x)``, ``ntile(x, n)``, ``top_n(x, n)``.

The population is every entity the spec evaluates: the entity table as of ``now`` (after the
point-in-time filter), whatever the command then keeps (one segment's members, a preview's first
rows).  Each is a SQL window function over the non-null values of ``x``: the null values form a
partition of their own, whose result is replaced (null for ``percent_rank``/``ntile``, false for
``top_n``).  The plan computes every rank as a column of the entity table before it filters
anything (``compile/ranks``).
"""

from __future__ import annotations

from ..check.types import describe, is_numeric, is_temporal
from .. import types as st
from ..types import DataType
from ..lang import ast as a
from .base import FunctionDef, CallInfo, Problem, arity, constant_int, run_constant

MAXIMUM = {"ntile": 2**31 - 1}  # PostgreSQL's ntile() takes a 32-bit integer


def count_argument(call: a.Call, params) -> int | None:
    """The ``n`` of ``ntile``/``top_n`` with the run's parameter values (None for percent_rank)."""
    return run_constant(call.name, call.args[1], params, MAXIMUM.get(call.name, 2**63 - 1)) \
        if len(call.args) > 1 else None


# What makes a value differ between entities: a column, feature or plugin value, an aggregate or
# a sequence (whatever their windows and literals inside), a segment; the rest is the same for all.
VARYING = (a.Name, a.Dotted, a.Aggregate, a.Sequence, a.SegmentRef)


def _ranked_value(info: CallInfo) -> Problem | None:
    """The first argument: a number or a time that varies per entity."""
    t, node = info.types[0], info.args[0]
    if not (is_numeric(t) or is_temporal(t)):
        return Problem("SR422", f"{info.node.name}() ranks numbers, dates or timestamps, got {describe(t)}",
                       node, "rank a numeric, date or timestamp column, feature or aggregate")
    if not any(isinstance(n, VARYING) for n in node.walk()):
        return Problem("SR425", f"{info.node.name}(): the ranked value is the same for every entity", node,
                       "rank a column, feature or aggregate of the entity, e.g. percent_rank(ltv)")
    return None


def _check(result: DataType, with_n: bool):
    def check(info: CallInfo):
        problem = arity(info, 2 if with_n else 1) or _ranked_value(info)
        if problem:
            return problem
        if with_n:
            what = "the number of tiles" if info.node.name == "ntile" else "the number of entities"
            n = constant_int(info, 1, what, MAXIMUM.get(info.node.name, 2**63 - 1))
            if isinstance(n, Problem):
                return n
        return result
    return check


def _partitioned(x, order):
    """A window ordered by ``order`` in which the non-null values of ``x`` are apart from the
    nulls (a partition of their own, whose results the callers replace)."""
    import ibis  # the compile stage has it loaded; checking does not need it

    return ibis.window(group_by=[x.isnull()], order_by=order)


def _percent_rank(x, n, key, nullable: bool):
    import ibis  # the compile stage has it loaded; checking does not need it
    import ibis.expr.datatypes as dt

    if not nullable:
        return ibis.percent_rank().over(ibis.window(order_by=[x]))
    value = ibis.percent_rank().over(_partitioned(x, [x]))
    return ibis.ifelse(x.isnull(), ibis.null(dt.float64), value)


def _ntile(x, n, key, nullable: bool):
    import ibis  # the compile stage has it loaded; checking does not need it
    import ibis.expr.datatypes as dt

    # The key breaks ties: NTILE splits rows, not values, so equal values may fall in two tiles,
    # and without a total order each database would choose differently.
    order = [x, key]
    window = _partitioned(x, order) if nullable else ibis.window(order_by=order)
    value = (ibis.ntile(n).over(window) + 1).cast(dt.int64)  # Ibis numbers tiles from 0
    return ibis.ifelse(x.isnull(), ibis.null(dt.int64), value) if nullable else value


def _top_n(x, n, key, nullable: bool):
    import ibis  # the compile stage has it loaded; checking does not need it

    order = [x.desc()]
    window = _partitioned(x, order) if nullable else ibis.window(order_by=order)
    within = ibis.rank().over(window) < n  # Ibis's rank() is RANK() - 1
    return ibis.ifelse(x.isnull(), False, within) if nullable else within


FUNCTIONS = (
    FunctionDef("percent_rank", compile=_percent_rank, rule=_check(st.float64, False), population=True,
                signature="percent_rank(x: numeric or time) → float64",
                doc="(rank − 1) / (n − 1) among the n non-null values, ascending; 0 when n = 1"),
    FunctionDef("ntile", compile=_ntile, rule=_check(st.int64, True), population=True,
                signature="ntile(x: numeric or time, n: integer constant) → int64",
                doc="tile 1…n of the non-null values, ascending, ties broken by the entity key"),
    FunctionDef("top_n", compile=_top_n, rule=_check(st.boolean, True), population=True,
                signature="top_n(x: numeric or time, n: integer constant) → boolean",
                doc="x is among the n largest values (ties all in); false for null"),
)
