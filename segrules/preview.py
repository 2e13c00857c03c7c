"""``segrules preview``: sample members of a segment with the values that put them there."""

from __future__ import annotations

import pyarrow as pa

from .check.typecheck import EntityColumn, EntityValue, NamespaceValue
from .compile import Plan
from .compile.ranks import is_rank
from .errors import SpecError
from .lang import ast as a
from .lang.unparse import unparse
from .run.execute import run_query


def explaining_nodes(checked, segment: str) -> dict[str, a.Node]:
    """Columns to show for ``segment``: the entity columns, features, aggregates, sequences and
    ranks its rule (and the segments and features it uses) read, named by their source text;
    ``entity.NAME`` values read inside aggregates are shown as ``NAME``."""
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
            elif isinstance(binding, EntityValue) and not binding.feature:
                # entity.NAME inside an aggregate: the entity's column (a feature is shown by name)
                shown.setdefault(binding.name, a.Name(binding.name))
            elif isinstance(node, a.Aggregate) or is_rank(node):
                shown.setdefault(unparse(node), node)
            elif isinstance(node, a.Sequence):
                # time_between is compared in microseconds; shown in hours
                shown.setdefault(unparse(node) + (" (hours)" if node.func == "time_between" else ""), node)
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
    if isinstance(node, a.Sequence):
        value = plan.sequence(node)
        return value if node.func == "sequence" else (value / 3_600_000_000).round(2)
    if is_rank(node):
        return plan.rank(node)
    return plan.aggregate(node)


def preview_members(spec, con, segment: str, *, limit: int | None = 10, as_of=None, params=None) -> pa.Table:
    """Up to ``limit`` (None: all) members of the output segment ``segment`` (as ``run`` outputs it), by key,
    with the values that put them there.  For an output segment a plugin derives (``resolve:
    priority``, ``else``) that is the membership of each segment it is derived from, then the
    values those segments' rules read."""
    derived = spec.derived()
    if segment not in spec.model.segments and segment not in derived:
        raise SpecError(f"unknown segment {segment!r} (segments: {', '.join(spec.segments)})", code="SR304")
    checked = spec.check(con)
    m = spec.model
    inputs = list(derived[segment].inputs) if segment in derived else [segment]
    plan = Plan(checked, spec.tables(con, checked), spec.now(as_of), spec.params(params),
                dialect=getattr(con, "name", None))
    plan.build(inputs, features=[])
    columns = {m.entity.key: plan.joined[m.entity.key]}
    if segment in derived:
        columns.update({f"segment('{name}')": plan.segment(name) for name in inputs})
    for name in inputs:
        for label, node in explaining_nodes(checked, name).items():
            columns.setdefault(label, explaining_value(plan, node))
    member = (derived[segment].combine({name: plan.segment(name) for name in inputs})
              if segment in derived else plan.segment(segment))
    query = plan.joined.filter(member).select(**columns).order_by(m.entity.key).limit(limit)
    return run_query(query.to_pyarrow, "previewing members")
