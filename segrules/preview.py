"""``segrules preview``: sample members of a segment with the values that put them there."""

from __future__ import annotations

import pyarrow as pa

from .check.typecheck import EntityColumn, NamespaceValue
from .compile import Plan
from .errors import SpecError
from .lang import ast as a
from .lang.unparse import unparse
from .run.execute import run_query


def explaining_nodes(checked, segment: str) -> dict[str, a.Node]:
    """Columns to show for ``segment``: the entity columns, features and aggregates its rule
    (and the segments and features it uses) read, named by their source text."""
    shown: dict[str, a.Node] = {}
    for kind, name in checked.closure([("segment", segment)]):
        root = checked.segments[name] if kind == "segment" else checked.features[name]
        if kind == "feature":
            shown.setdefault(name, a.Name(name))
            continue
        for node in root.walk():
            binding = checked.bindings.get(id(node))
            if isinstance(node, a.Name) and isinstance(binding, EntityColumn):
                shown.setdefault(node.name, node)
            elif isinstance(binding, NamespaceValue):
                shown.setdefault(f"{binding.namespace}.{binding.name}", node)
            elif isinstance(node, a.Aggregate):
                shown.setdefault(unparse(node), node)
    return shown


def explaining_value(plan: Plan, node: a.Node):
    """The Ibis value of a node from :func:`explaining_nodes`, in a built ``plan``."""
    binding = plan.checked.bindings.get(id(node))
    if isinstance(binding, NamespaceValue):
        return plan.namespace(binding.namespace, binding.name)
    if isinstance(node, a.Name) and node.name in plan.model.features:
        return plan.feature(node.name)
    if isinstance(node, a.Name):
        return plan.joined[node.name]
    return plan.aggregate(node)


def preview_members(spec, con, segment: str, *, limit: int = 10, as_of=None, params=None) -> pa.Table:
    if segment not in spec.model.segments:
        raise SpecError(f"unknown segment {segment!r} (segments: {', '.join(spec.segments)})", code="SR304")
    checked = spec.check(con)
    m = spec.model
    plan = Plan(checked, spec.tables(con, checked), spec.now(as_of), spec.params(params))
    plan.build([segment], features=[])
    columns = {m.entity.key: plan.joined[m.entity.key]}
    for label, node in explaining_nodes(checked, segment).items():
        columns[label] = explaining_value(plan, node)
    member = plan.segment(segment)
    query = plan.joined.filter(member).select(**columns).order_by(m.entity.key).limit(limit)
    return run_query(query.to_pyarrow, "previewing members")
