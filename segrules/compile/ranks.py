"""Population functions in the plan: every ``percent_rank``/``ntile``/``top_n`` the rules use
becomes a window-function column of the joined entity table, before anything reads it.

Why columns first: a rank compares an entity with every other evaluated entity, so it must be
computed over the whole population (the entity table as of ``now``), never over what a command
keeps afterwards — ``preview`` filters to members, ``sync`` to the audience, ``run --segments``
projects some segments.  Those filters then read a plain column of a subquery (Ibis does not merge
a select holding a window function into the query around it), so the window sees every row.

Ranks may nest (``percent_rank(ltv - percent_rank(x))``, directly or through features), and SQL
has no window function inside another; a rank of nesting depth k is computed in stage k, over the
table that already has the columns of the stages before it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, TypeAlias, TypeGuard

import ibis
import ibis.expr.datatypes as dt

from ..builtin import FUNCTIONS
from ..builtin.ranks import count_argument
from ..check import CheckedSpec
from ..check.cycles import Ref
from ..check.typecheck import FeatureRef
from ..lang import ast as a
from .nullability import never_null
from .to_ibis import ExprCompiler

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from .plan import Plan

# what a rank nesting depth is remembered for: a rank call, or a feature or segment
DepthKey: TypeAlias = Ref | a.Call


def is_rank(node: a.Node) -> TypeGuard[a.Call]:
    return isinstance(node, a.Call) and node.name in FUNCTIONS and FUNCTIONS[node.name].population


def rank_stages(checked: CheckedSpec, refs: Iterable[Ref]) -> list[list[a.Call]]:
    """The rank calls the features and segments ``refs`` use, grouped by nesting depth (stage 1
    first), each once (equal calls share a column)."""
    roots = [checked.features[n] if k == "feature" else checked.segments[n] for k, n in refs]
    depths: dict[DepthKey, int] = {}  # rank call or ("feature"|"segment", name) -> depth
    stages: dict[int, dict[a.Call, None]] = {}
    for root in roots:
        for node in root.walk():
            if is_rank(node):
                stages.setdefault(_depth(node, checked, depths), {})[node] = None
    return [list(stages[d]) for d in sorted(stages)]


def _depth(start: a.Node, checked: CheckedSpec, memo: dict[DepthKey, int]) -> int:
    """How many ranks nest in ``start``, following features and segment references.
    Iterative (an explicit stack): a rank may read a chain of hundreds of features."""

    def expand(node: a.Node) -> tuple[DepthKey | None, a.Node]:
        """(memo key or None, the node whose children count)"""
        binding = checked.bindings.get(id(node))
        if isinstance(binding, FeatureRef):
            return ("feature", binding.name), checked.features[binding.name]
        if isinstance(node, a.SegmentRef):
            return ("segment", node.name), checked.segments[node.name]
        return (node if is_rank(node) else None), node

    found: dict[int, int] = {}  # id(node) -> its depth, for the nodes of this walk
    stack: list[tuple[a.Node, bool]] = [(start, False)]
    while stack:
        node, expanded = stack.pop()
        key, body = expand(node)
        if key is not None and key in memo:
            found[id(node)] = memo[key]
            continue
        children = list(body.children())
        if not expanded:
            stack.append((node, True))
            stack.extend((child, False) for child in children)
            continue
        inner = max((found[id(child)] for child in children), default=0)
        found[id(node)] = depth = inner + 1 if is_rank(body) else inner
        if key is not None:
            memo[key] = depth
    return found[id(start)]


def rank_window(call: a.Call, compiler: ExprCompiler, key: ir.Value) -> ir.Value:
    """The window expression of a rank call, its argument compiled by ``compiler`` (over the
    table of the stage before), ties broken by the entity ``key`` column where it matters."""
    value = compiler.compile(call.args[0])
    return FUNCTIONS[call.name].compile(value, count_argument(call, compiler.params), key, not never_null(value))


def percent_rank_by_counting(table: ir.Table, value: str, out: str, nullable: bool = True,
                             by: str = "_rv") -> ir.Table:
    """``table`` with ``out`` = PERCENT_RANK of its column ``value`` over the non-null values,
    counted instead of sorted: (rows with a smaller value) / (n - 1), from one row per distinct
    value and a running sum over those, joined back on the value (0 when n = 1, null for null).
    Ties are common in ranked values (counts, scores, rounded amounts), and then the distinct
    values are far fewer than the entities: this is the fastest exact shape measured
    (bench/run_behaviour.py).
    ``by``: a name no column of ``table`` has, for the distinct values."""
    present = table.filter(table[value].notnull()) if nullable else table
    counts = present.group_by(**{by: present[value]}).aggregate(_n=present.count())
    total = counts["_n"].sum().over(ibis.window())
    before = counts["_n"].sum().over(ibis.window(order_by=by, rows=(None, 0))) - counts["_n"]
    ranked = counts.select(by, **{out: ibis.ifelse(total > 1, before.cast(dt.float64) / (total - 1).cast(dt.float64),
                                                   ibis.literal(0.0))})
    return table.left_join(ranked, table[value] == ranked[by]).drop(by)


def with_rank_columns(plan: Plan, joined: ir.Table, refs: Iterable[Ref]) -> ir.Table:
    """``joined`` with one column per rank call of ``refs``; records the columns in
    ``plan.rank_columns``.  ``plan.use(table)`` points the plan's compiler at a table;
    ``plan._fresh`` names new columns."""
    fresh = plan._fresh
    for stage in rank_stages(plan.checked, refs):
        plan.use(joined)
        columns: dict[str, ir.Value] = {}
        counted: dict[str, tuple[str, bool]] = {}  # rank column -> (column of its value, value nullable)
        for call in stage:
            name = fresh("_rank")
            if call.name == "percent_rank":
                value = plan.entity.compile(call.args[0])
                counted[name] = (fresh("_ranked"), not never_null(value))
                columns[counted[name][0]] = value
            else:
                columns[name] = rank_window(call, plan.entity, plan.entity.column(plan.model.entity.key))
            plan.rank_columns[call] = name
        joined = joined.mutate(**columns)
        for name, (value, nullable) in counted.items():
            joined = percent_rank_by_counting(joined, value, name, nullable, fresh("_rv")).drop(value)
    return joined
