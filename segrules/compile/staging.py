"""Aggregates that read the entity's own values (``entity.NAME``), computed in stages.

``count(orders where ordered_at <= entity.signup_at + 7d)`` compares every source row with one
value of its entity.  The plan computes such an aggregate after everything that value needs:

* **stage 0**: the aggregates that read no entity value — one fused grouped aggregation per
  source, as for any spec;
* an aggregate that reads entity values is in **stage 1 +** the latest stage of the aggregates
  those values depend on (through features; a column of the entity table depends on none, so
  ``entity.signup_at`` puts an aggregate in stage 1).

For each later stage and source, the needed values are computed by the entity-scope compiler
on the entity table joined so far (:class:`EntityScope`), projected with the key, joined to the
source rows on the key (:func:`entity_rows`), and every aggregate of that source and stage is
fused into one grouped aggregation that is left-joined back.  It all stays one Ibis expression
(one query, with common table expressions).  A null entity value makes the comparisons that read
it unknown, so the source row does not count: SQL's semantics, on every backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, TypeAlias

import ibis
import ibis.expr.datatypes as dt

from ..check import CheckedSpec
from ..check.cycles import Ref
from ..check.entity_functions import LiteralValue
from ..check.entity_values import EntityValue
from ..lang import ast as a
from .namespaces import point_in_time
from .nullability import never_null
from .relations import fresh_name
from .to_ibis import ExprCompiler

if TYPE_CHECKING:
    import ibis.expr.types as ir

ZERO_WHEN_EMPTY = ("count", "count_distinct", "sum")
# A per-entity value a plugin computes: (namespace, field) of a namespace value (``rfm.r``), or
# (entity function, its literal arguments) of an entity function call (``cohort('w')``).
PluginValue: TypeAlias = tuple[str, str | tuple[LiteralValue, ...]]


@dataclass
class Columns:
    """Where computed per-entity values live in the joined table: aggregate -> (column, func),
    (namespace, field) -> column, sequence -> column, rank call -> column.  Filled stage by stage."""

    aggregates: dict[a.Aggregate, tuple[str, str]] = field(default_factory=dict)
    namespaces: dict[PluginValue, str] = field(default_factory=dict)
    sequences: dict[a.Sequence, str] = field(default_factory=dict)
    ranks: dict[a.Call, str] = field(default_factory=dict)


class EntityScope:
    """Compiles entity-row expressions (features, segments, ``entity.NAME`` values) on ``table``:
    the entity table joined with the aggregate and namespace columns computed so far.  Each
    feature and segment is compiled once per scope."""

    def __init__(self, checked: CheckedSpec, table: ir.Table, now: datetime | ir.TimestampValue,
                 params: dict[str, Any], columns: Columns, *, dialect: str | None = None) -> None:
        self.checked, self.table, self.columns = checked, table, columns
        self.compiler = ExprCompiler(checked, table, now, params, feature=self.feature, segment=self.segment,
                                     aggregate=self.aggregate, namespace=self.namespace, sequence=self.sequence,
                                     rank=self.rank if columns.ranks else None, dialect=dialect)
        self._features: dict[str, ir.Value] = {}
        self._segments: dict[str, ir.BooleanValue] = {}
        self._aggregates: dict[a.Aggregate, ir.Value] = {}

    def aggregate(self, agg: a.Aggregate) -> ir.Value:
        if agg not in self._aggregates:
            column, func = self.columns.aggregates[agg]
            value = self.compiler.column(column)
            self._aggregates[agg] = value.fill_null(0) if func in ZERO_WHEN_EMPTY else value
        return self._aggregates[agg]

    def namespace(self, namespace: str, name: str | tuple[LiteralValue, ...]) -> ir.Value:
        return self.compiler.column(self.columns.namespaces[(namespace, name)])

    def rank(self, call: a.Call) -> ir.Value:
        return self.compiler.column(self.columns.ranks[call])

    def sequence(self, node: a.Sequence) -> ir.Value:
        """A sequence's value: 0 steps for an entity without a step-1 row; ``time_between``
        stays null there."""
        value = self.compiler.column(self.columns.sequences[node])
        return value.fill_null(0) if node.func == "sequence" else value

    def feature(self, name: str) -> ir.Value:
        if name not in self._features:
            self._dependencies_first(("feature", name))
            self._features[name] = self.compiler.compile(self.checked.features[name])
        return self._features[name]

    def _dependencies_first(self, ref: Ref) -> None:
        """Compile what ``ref`` reads before ``ref`` itself, dependencies first, so compiling a
        chain of features or segments (each reading the one before) finds each link compiled
        already instead of recursing through the whole chain."""
        if not self.checked.deps.get(ref):
            return
        for kind, name in self.checked.closure([ref])[:-1]:
            if kind == "feature" and name not in self._features:
                self.feature(name)
            elif kind != "feature" and name not in self._segments:
                self.segment(name)

    def known(self, kind: str, name: str, value: ir.Value) -> None:
        """Use ``value`` (e.g. a column computed before) for the feature or segment ``name``."""
        if kind == "feature":
            self._features[name] = value
        else:
            self._segments[name] = value

    def segment(self, name: str) -> ir.BooleanValue:
        if name not in self._segments:
            self._dependencies_first(("segment", name))
            node = self.checked.segments[name]
            if self.checked.types[id(node)].is_null():  # e.g. `where: null`: never a match
                self._segments[name] = ibis.literal(False)
            else:
                rule = self.compiler.compile(node)  # unknown is not a match
                self._segments[name] = rule if never_null(rule) else rule.fill_null(
                    self.compiler.lit(False, dt.boolean))
        return self._segments[name]

    def value(self, name: str) -> ir.Value:
        """``entity.NAME``: the feature ``name``, else the entity column ``name``."""
        if name not in self.checked.features:
            return self.compiler.column(name)
        if self.checked.feature_types.get(name, dt.null).is_null():
            return ibis.null(dt.string)  # `feature: null`: a typed column of nulls
        return self.feature(name)


@dataclass(frozen=True)
class EntityRows:
    """Source rows with entity values beside them: ``table`` has every column of the source rows
    it was built from, plus one column per value (``columns``: value name -> column)."""

    table: ir.Table
    source: str
    columns: dict[str, str]

    def value(self, name: str) -> ir.Value:
        """The column holding ``entity.name`` (what a source-scope compiler reads for it)."""
        return self.table[self.columns[name]]

    def compiler(self, checked: CheckedSpec, now: datetime | ir.TimestampValue,
                 params: dict[str, Any]) -> ExprCompiler:
        """A source-scope compiler over ``table`` that resolves ``entity.NAME`` to the values."""
        return ExprCompiler(checked, self.table, now, params, source=self.source, entity_value=self.value)


def entity_rows(scope: EntityScope, source: str, names: Iterable[str], rows: ir.Table) -> EntityRows:
    """The rows of ``source`` with the entity values ``names`` (``entity.NAME``) as columns.

    ``scope``: the entity table joined so far (every aggregate the values need must already be
    in it, see :func:`stages`); ``rows``: the source rows to use, as of ``now`` and possibly
    pre-filtered (e.g. by a window; :func:`source_rows`).  Rows whose key is not an entity of
    ``scope`` are left out (an inner join on the key: the left join back would drop them).
    Compile conditions over the result with ``EntityRows.compiler(checked, now, params)``.
    """
    m = scope.checked.model
    src = m.sources[source]
    used = set(rows.columns)
    key = fresh_name(f"_entity_{m.entity.key}", used)
    columns = {name: fresh_name(f"_entity_{name}", used) for name in sorted(set(names))}
    values = scope.table.select(**{key: scope.table[m.entity.key]},
                                **{col: scope.value(name) for name, col in columns.items()})
    joined = rows.inner_join(values, [(src.key, key)])
    # Close the join into a projection: conditions compile against it without dereferencing.
    table = joined.select(*rows.columns, *columns.values())
    return EntityRows(table, source, columns)


def source_rows(checked: CheckedSpec, tables: dict[str, ir.Table], source: str, now: datetime | ir.TimestampValue,
                within: ir.IntervalValue | None = None) -> ir.Table:
    """The rows of ``source`` as of ``now`` (``within``: an Ibis interval, only the rows after
    ``now - within`` as well)."""
    src = checked.model.sources[source]
    return point_in_time(tables[src.table], src.time, now, within)


def entity_values(checked: CheckedSpec, node: a.Node) -> frozenset[str]:
    """The names ``NAME`` of the ``entity.NAME`` values read in ``node`` (an aggregate: its
    ``where`` and time range bounds)."""
    return frozenset(b.name for n in node.walk() if isinstance(b := checked.bindings.get(id(n)), EntityValue))


def needed_aggregates(checked: CheckedSpec, names: Iterable[str]) -> set[a.Aggregate]:
    """Every aggregate the entity values ``names`` depend on (through features, the features and
    segments they use, and the ``entity.`` values of those aggregates in turn)."""
    refs = checked.closure([("feature", n) for n in names if n in checked.features])
    out: set[a.Aggregate] = set()
    for kind, name in refs:
        root = checked.features[name] if kind == "feature" else checked.segments[name]
        out.update(n for n in root.walk() if isinstance(n, a.Aggregate))
    return out


def stages(checked: CheckedSpec, aggregates: Iterable[a.Aggregate]) -> list[dict[str, list[a.Aggregate]]]:
    """``aggregates`` by stage (see the module docstring), then by source, in the given order.
    Needs no cycles (the check stage reports them: SR319)."""
    stage: dict[a.Aggregate, int] = {}

    def of(agg: a.Aggregate) -> int:
        if agg not in stage:
            names = entity_values(checked, agg)
            stage[agg] = 0 if not names else 1 + max(
                (of(dep) for dep in needed_aggregates(checked, names)), default=0)
        return stage[agg]

    out: list[dict[str, list[a.Aggregate]]] = []
    for agg in aggregates:
        k = of(agg)
        while len(out) <= k:
            out.append({})
        out[k].setdefault(agg.source, []).append(agg)
    return out
