"""Plugin namespaces in the plan: what a namespace's ``build`` gets, and its join.

A namespace (``rfm``) is built once per plan as an Ibis table keyed by the entity key, from the
same point-in-time source tables as the aggregates, and left-joined to the entity table only when
a rule uses one of its values.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..check import CheckedSpec
from ..check.entity_functions import EntityFunctionValue, LiteralValue
from ..check.typecheck import FeatureRef
from .datatypes import ibis_dtype
from ..check.cycles import Ref
from ..lang import ast as a
from ..errors import CompileError
from .to_ibis import ExprCompiler, now_value

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from .plan import Plan


def point_in_time(table: ir.Table, time: str | None, now: datetime | ir.TimestampValue,
                  within: ir.IntervalValue | None = None) -> ir.Table:
    """Rows of ``table`` at or before ``now`` (all rows when there is no time column). A null
    time compares unknown, so those rows are left out too. ``within`` (an Ibis interval): only
    rows after ``now - within`` as well."""
    if not time:
        return table
    at = now_value(now)
    rows = table[time] <= at
    if within is not None:
        rows = rows & (table[time] > at - within)
    return table.filter(rows)


@dataclass
class NamespaceBuild:
    """What ``NamespaceDef.build`` and ``EntityFunctionDef.build`` get: the section's config, the
    evaluation time, the entity table and the sources as of ``now``, and the section's source
    and entity expressions compiled. ``namespace``: the namespace, or for an entity function
    the section; ``entry`` and ``args``: the entity function's entry name and other arguments;
    ``planner``: the plan class (:class:`segrules.compile.Plan`) that compiles entity expressions,
    given by the caller because the plan builds namespaces (this module cannot import it);
    ``dialect``: the target backend's name (None: no backend), for plans that suit one engine
    better than another (a distributed engine runs a window without a partition in one task)."""

    namespace: str
    config: Any  # the section's pydantic model instance
    checked: CheckedSpec
    tables: dict[str, ir.Table]
    now: datetime | ir.TimestampValue
    params: dict[str, Any]
    entry: str | None = None
    args: tuple[LiteralValue, ...] = ()
    planner: type[Plan] | None = field(default=None, repr=False)
    dialect: str | None = None

    @property
    def key(self) -> str:
        """The entity key column: the built table must have it."""
        return self.checked.model.entity.key

    @property
    def now_literal(self) -> ir.TimestampValue:
        return now_value(self.now)

    @property
    def entity(self) -> ir.Table:
        """The entity table (entities created after ``now`` left out when ``entity.time`` is set)."""
        m = self.checked.model
        return point_in_time(self.tables[m.entity.table], m.entity.time, self.now)

    def source(self, name: str) -> ir.Table:
        """The rows of source ``name`` at or before ``now``."""
        src = self.checked.model.sources[name]
        return point_in_time(self.tables[src.table], src.time, self.now)

    def source_key(self, name: str) -> str:
        return self.checked.model.sources[name].key

    def source_time(self, name: str) -> str | None:
        return self.checked.model.sources[name].time

    def expression(self, key: str, table: ir.Table) -> ir.Value:
        """The source expression ``key`` of this namespace compiled over ``table`` (the source's
        rows, possibly already filtered)."""
        found = self.checked.source_expressions.get((self.namespace, key))
        if found is None:
            raise CompileError(f"namespace {self.namespace} has no source expression {key!r}", code="SR450")
        decl, node = found
        if decl.source is None:
            raise CompileError(f"{self.namespace}: {key!r} is an entity expression: use entity_values()",
                               code="SR450")
        return ExprCompiler(self.checked, table, self.now, self.params, source=decl.source).compile(node)

    def entity_values(self, columns: dict[str, str], *, now: datetime | None = None,
                      tables: dict[str, ir.Table] | None = None) -> ir.Table:
        """An Ibis table with the key and, per ``columns`` item ``name: key``, the entity
        expression ``key`` of this section as column ``name``, for every entity (as of ``now``;
        ``tables`` replaces the tables by name, e.g. with the source rows of a period). The
        expressions compile with the spec's features and segments, in a plan of their own."""
        if self.planner is None:
            raise CompileError(f"{self.namespace}: entity_values() needs the plan class (NamespaceBuild.planner)",
                               code="SR450")
        nodes: dict[str, a.Node] = {}
        for name, key in columns.items():
            found = self.checked.source_expressions.get((self.namespace, key))
            if found is None or found[0].source is not None:
                raise CompileError(f"{self.namespace} has no entity expression {key!r}", code="SR450")
            nodes[f"{self.namespace}:{key}"] = found[1]
        checked = with_features(self.checked, nodes)
        wide = self.planner(checked, {**self.tables, **(tables or {})}, now if now is not None else self.now,
                    self.params).build(segments=[], features=list(nodes))
        return wide.select(self.key, **{name: wide[f"{self.namespace}:{key}"] for name, key in columns.items()})


def with_features(checked: CheckedSpec, nodes: dict[str, a.Node]) -> CheckedSpec:
    """``checked`` with the checked expressions ``nodes`` as extra features (their names must not
    be names of the spec), so a plan can compute them like any feature."""
    deps, aggregates = dict(checked.deps), {s: list(aggs) for s, aggs in checked.aggregates.items()}
    for name, node in nodes.items():
        refs: list[tuple[Ref, a.Node]] = []
        for sub in node.walk():
            if isinstance(sub, a.SegmentRef):
                refs.append((("segment", sub.name), sub))
            elif isinstance(binding := checked.bindings.get(id(sub)), FeatureRef):
                refs.append((("feature", binding.name), sub))
            elif isinstance(sub, a.Aggregate) and sub not in aggregates[sub.source]:
                aggregates[sub.source].append(sub)
        deps[("feature", name)] = refs
    return replace(checked, features={**checked.features, **nodes}, deps=deps, aggregates=aggregates,
                   order=[*checked.order, *(("feature", n) for n in nodes)],
                   feature_types={**checked.feature_types,
                                  **{n: checked.types[id(node)] for n, node in nodes.items()}})


def build_namespace(name: str, checked: CheckedSpec, tables: dict[str, ir.Table], now: datetime | ir.TimestampValue,
                    params: dict[str, Any], fields: list[str], planner: type[Plan],
                    dialect: str | None = None) -> ir.Table:
    """The namespace's table restricted to the key and ``fields``, checked against its contract."""
    nd, config, declared = checked.namespaces[name]
    table = nd.build(NamespaceBuild(name, config, checked, tables, now, params, planner=planner, dialect=dialect))
    key = checked.model.entity.key
    missing = [c for c in [key, *fields] if c not in table.columns]
    if missing:
        raise CompileError(f"namespace {name!r} built a table without the column(s) {', '.join(missing)}",
                           code="SR606")
    return table.select(key, *[table[f].cast(ibis_dtype(declared[f].dtype)).name(f) for f in fields])


def build_entity_function(call: EntityFunctionValue, checked: CheckedSpec, tables: dict[str, ir.Table],
                          now: datetime | ir.TimestampValue, params: dict[str, Any], planner: type[Plan]) -> ir.Table:
    """The table of one entity function call: the key and ``value`` (of the declared type)."""
    fn, config = checked.entity_functions[call.function]
    entry, args = call.args[0], call.args[1:]
    assert isinstance(entry, str)  # the checker made the first argument a string (SR434)
    table = fn.build(NamespaceBuild(fn.section, config, checked, tables, now, params, entry, args, planner))
    key = checked.model.entity.key
    missing = [c for c in (key, "value") if c not in table.columns]
    if missing:
        raise CompileError(f"entity function {fn.name}() built a table without the column(s) "
                           f"{', '.join(missing)}", code="SR606")
    returns = fn.returns(entry, args) if callable(fn.returns) else fn.returns
    return table.select(key, value=table["value"].cast(ibis_dtype(returns)))
