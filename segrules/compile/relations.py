"""Relation-building shortcuts for large plans (a 500-segment spec builds ~500 columns).

Ibis' ``Table.select`` re-walks every column's expression graph to find reductions and analytic
functions (which it turns into window functions or scalar subqueries).  Rule columns share most
of their graphs (``segment('x')`` references, aggregates), so one walk over all of them
together, and a plain ``Project`` when there is nothing to rewrite, does the same work once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import ibis.expr.operations as ops
from ibis.common.graph import Graph

if TYPE_CHECKING:
    import ibis.expr.types as ir

# What Table.select rewrites in a projection's values (ibis.expr.rewrites.rewrite_project_input).
_REWRITTEN = (ops.Reduction, ops.Analytic)


def fresh_name(base: str, taken: set[str]) -> str:
    """``base``, with underscores in front until no column of ``taken`` has it; then taken."""
    name = base
    while name in taken:
        name = "_" + name
    taken.add(name)
    return name


def project(table: ir.Table, columns: Mapping[str, ir.Value]) -> ir.Table:
    """``table.select(**columns)`` for columns built on ``table`` (or on no table at all)."""
    values = {name: _unalias(expr.op()) for name, expr in columns.items()}
    parent = table.op()
    nodes = Graph.from_bfs(list(values.values()), filter=ops.Value)
    if any(isinstance(node, _REWRITTEN) for node in nodes) or \
            any(not node.relations <= {parent} for node in values.values()):
        return table.select(**columns)
    return ops.Project(parent, values).to_expr()


def _unalias(node: ops.Value) -> ops.Value:
    while isinstance(node, ops.Alias):
        node = node.arg
    return node
