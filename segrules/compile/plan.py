"""The query plan of a spec: ONE Ibis expression for all its segments and features.

* one grouped aggregation per source, with every aggregate the spec needs fused into it as a
  filtered aggregate (``sum(x) FILTER (WHERE ...)``), over the source rows at or before ``now``;
* left-joined to the entity table on the key;
* aggregates that read the entity's own values (``entity.NAME``) in later stages, after the
  aggregates those values need (:mod:`.staging`);
* one table per ``sequence(...)``/``time_between(...)`` (:mod:`.sequences`), joined like a source;
* one boolean column per segment (never null), then the features.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable

import ibis.expr.datatypes as dt

from ..check import CheckedSpec
from ..check.entity_functions import EntityFunctionValue, LiteralValue
from ..check.cycles import Ref
from ..check.entity_values import EntityValue
from ..check.typecheck import EntityColumn, NamespaceValue
from ..errors import CompileError
from ..lang import ast as a
from ..lang.limits import depth
from .backends import by_time
from .namespaces import build_entity_function, build_namespace, point_in_time
from .ranks import with_rank_columns
from .relations import fresh_name, project
from .sequences import build_sequence
from .staging import Columns, EntityScope, entity_rows, entity_values, source_rows, stages
from .to_ibis import ExprCompiler, duration, now_value
from .windows import ahead_horizon, resolve_duration, window_condition

if TYPE_CHECKING:
    import ibis.expr.types as ir


# How deep (in levels of the rules) a compiled value may nest before the plan starts a new layer
# (Plan._compile_in_layers): well inside what sqlglot's recursive SQL generation and the
# databases' parsers take, with the rules' own limit (lang.limits.MAX_EXPR_DEPTH) on top.
INLINE_DEPTH = 40


def _aggregate_metric(agg: a.Aggregate, compiler: ExprCompiler, table: ir.Table, key: str, time: str | None,
                      backend: str | None = None, prefiltered: a.Duration | None = None) -> ir.Scalar:
    """The Ibis reduction for one aggregate over the (already point-in-time filtered) source;
    ``backend`` names the target backend, for the translations in ``backends``; ``prefiltered``:
    the ``within`` window the rows were already cut to (that window needs no FILTER again)."""
    conds: list[ir.BooleanValue] = []
    if agg.where is not None:
        conds.append(compiler.typed(agg.where, dt.boolean))
    if (prefiltered is not None and isinstance(agg.window, a.Within)
            and resolve_duration(agg.window.duration, compiler.params).seconds == prefiltered.seconds):
        pass  # every row left is inside this window
    elif agg.window is not None:
        assert time is not None  # the checker requires a time column for a window (SR408)
        conds.append(window_condition(agg.window, compiler, compiler.column(time)))
    where: ir.BooleanValue | None = None
    for cond in conds:
        where = cond if where is None else where & cond
    if agg.column is None:
        return compiler.column(key).count(where=where)
    col = compiler.column(agg.column)
    if agg.func in ("first", "last"):
        assert time is not None  # the checker requires a time column for first/last (SR408)
        # arg_min/arg_max by time, skipping null values: translated by every Ibis backend
        # (ARRAY_AGG(..)[1] on Postgres, MIN_BY/MAX_BY elsewhere); DuckDB's own arg_min/arg_max
        # when it is the target (Ibis would write the slower FIRST(.. ORDER BY)).
        present = col.notnull() if where is None else where & col.notnull()
        builtin = by_time(backend, agg.func, col.type(), compiler.column(time).type())
        if builtin is not None:
            return builtin(col, compiler.column(time), where=present)
        reduce = col.argmin if agg.func == "first" else col.argmax
        return reduce(compiler.column(time), where=present)
    if agg.func == "avg":
        # float64 everywhere: the exact sum (integers and decimals add up exactly on every
        # backend) as a double, over the count. AVG itself differs: a double on DuckDB, a numeric
        # of the backend's own scale on PostgreSQL, a decimal rounded to scale+4 on Spark.
        return col.sum(where=where).cast(dt.float64) / col.count(where=where).nullif(0)
    method = {"count": "count", "count_distinct": "nunique", "sum": "sum",
              "min": "min", "max": "max"}[agg.func]
    return getattr(col, method)(where=where)


def _widest_window(aggs: list[a.Aggregate], params: dict[str, Any]) -> a.Duration | None:
    """The longest ``within`` duration if every aggregate has one, else ``None``."""
    windows = [agg.window for agg in aggs if isinstance(agg.window, a.Within) and not agg.window.ahead]
    if len(windows) < len(aggs):
        return None
    return max((resolve_duration(w.duration, params) for w in windows), key=lambda d: d.seconds)


class Plan:
    """Builds the wide membership table for a checked spec against concrete Ibis tables."""

    def __init__(self, checked: CheckedSpec, tables: dict[str, ir.Table], now: datetime | ir.TimestampValue,
                 params: dict[str, Any], *, dialect: str | None = None) -> None:
        self.checked, self.tables, self.now, self.params = checked, tables, now, params
        self.dialect = dialect  # the target backend, for the translations in .backends
        self.model = checked.model
        self.columns = Columns()  # where the aggregates, namespace values, sequences and ranks are

    def build(self, segments: list[str] | None = None, features: bool | list[str] = True) -> ir.Table:
        m = self.model
        names = list(m.segments) if segments is None else segments
        unknown = [n for n in names if n not in m.segments]
        if unknown:
            raise CompileError(f"unknown segment(s): {', '.join(unknown)}", code="SR304")
        feature_names = list(m.features) if features is True else list(features or [])
        needed_refs = set(self.checked.closure(
            [("segment", n) for n in names] + [("feature", f) for f in feature_names]))
        joined = with_rank_columns(self, self._join(needed_refs), needed_refs)
        self.use(joined)
        self._compile_in_layers([r for r in self.checked.order if r in needed_refs])
        joined = self.joined
        key = m.entity.key
        columns = {key: joined[key]}
        for name in names:
            columns[name] = self.segment(name)
        for name in feature_names:
            columns[name] = self.feature(name)
        return project(joined, columns)

    # -- the grouped aggregations --------------------------------------------------------
    def _join(self, needed_refs: set[Ref]) -> ir.Table:
        m = self.model
        entity = point_in_time(self.tables[m.entity.table], m.entity.time, self.now)
        roots = [self.checked.features[n] if k == "feature" else self.checked.segments[n] for k, n in needed_refs]
        used: set[a.Aggregate] = set()
        used_ns: dict[str, set[str]] = {}
        used_fn: dict[EntityFunctionValue, None] = {}  # ordered sets
        sequences: dict[a.Sequence, None] = {}
        columns = {m.entity.key}
        for root in roots:
            for n in root.walk():
                binding = self.checked.bindings.get(id(n))
                if isinstance(binding, EntityColumn) or (isinstance(binding, EntityValue) and not binding.feature):
                    columns.add(binding.name)
                if isinstance(n, a.Aggregate):
                    used.add(n)
                elif isinstance(n, a.Sequence):
                    sequences.setdefault(n, None)
                elif isinstance(binding, NamespaceValue):
                    used_ns.setdefault(binding.namespace, set()).add(binding.name)
                elif isinstance(binding, EntityFunctionValue):
                    used_fn.setdefault(binding, None)
        # Only the entity columns the rules read: the others would be carried through every join
        # and window (DuckDB does not prune them below a window function).
        entity = entity.select(*[c for c in entity.columns if c in columns])
        self._taken, self._counter = set(self.tables[m.entity.table].columns), 0
        joined = entity
        keys: list[str] = []
        # Namespaces first: their values read no aggregate, and entity values may read them.
        for ns, used_fields in sorted(used_ns.items()):
            fields = sorted(used_fields)
            table = build_namespace(ns, self.checked, self.tables, self.now, self.params, fields, type(self),
                                    dialect=self.dialect)
            renames = {self._fresh(f"_{ns}_{f}"): f for f in [m.entity.key, *fields]}
            table = table.rename(renames)
            group_key = next(c for c, f in renames.items() if f == m.entity.key)
            keys.append(group_key)
            self.columns.namespaces.update({(ns, f): c for c, f in renames.items() if c != group_key})
            joined = joined.left_join(table, [(m.entity.key, group_key)])
        # Entity function values are namespace values with one field: one table per distinct call.
        for call in used_fn:
            table = build_entity_function(call, self.checked, self.tables, self.now, self.params, type(self))
            group_key, column = self._fresh(f"_{call.function}_key"), self._fresh(f"_{call.function}")
            keys.append(group_key)
            self.columns.namespaces[(call.function, call.args)] = column
            joined = joined.left_join(table.rename({group_key: m.entity.key, column: "value"}),
                                      [(m.entity.key, group_key)])
        # Sequences too: they read only their sources' rows.
        for node in sequences:
            table = build_sequence(node, self.checked, self.tables, self.now, self.params)
            group_key, column = self._fresh("_seq_key"), self._fresh(f"_seq{len(self.columns.sequences)}")
            keys.append(group_key)
            self.columns.sequences[node] = column
            joined = joined.left_join(table.rename({group_key: "_k", column: "_v"}), [(m.entity.key, group_key)])
        ordered = [agg for aggs in self.checked.aggregates.values() for agg in aggs if agg in used]
        for k, stage in enumerate(stages(self.checked, ordered)):
            scope: EntityScope | None = None
            if k > 0 and stage:
                # The entity values compile on the join so far, closed (see _closed); the next
                # joins start from a view of it, a new join chain instead of a longer one, so
                # the closed table stays one node: one common table expression, read twice.
                closed, keys = _closed(joined, keys), []
                scope = EntityScope(self.checked, closed, self.now, self.params, self.columns)
                joined = closed.view()
            for source_name, all_aggs in stage.items():
                # `within next D` (a model's label) reads the rows after now: its own grouping
                # over them, so the other aggregates keep reading the rows at or before now only
                ahead = [agg for agg in all_aggs if isinstance(agg.window, a.Within) and agg.window.ahead]
                past = [agg for agg in all_aggs if agg not in ahead]
                for aggs in (past, ahead):
                    if not aggs:
                        continue
                    group_key, grouped = self._grouped(source_name, aggs, scope)
                    keys.append(group_key)
                    # Keys by name: a predicate expression would make Ibis walk the whole aggregation.
                    joined = joined.left_join(grouped, [(m.entity.key, group_key)])
        return joined.drop(*keys) if keys else joined

    def use(self, joined: ir.Table) -> None:
        """Compile the rules over ``joined`` (the joined entity table, with rank columns) from now on."""
        self.joined = joined
        self.scope = EntityScope(self.checked, joined, self.now, self.params, self.columns, dialect=self.dialect)
        self.entity = self.scope.compiler

    def _compile_in_layers(self, refs: list[Ref]) -> None:
        """Compile the features and segments ``refs`` (dependencies first), so that no compiled
        value nests deeper than :data:`INLINE_DEPTH` levels of the rules.

        A reference to a feature or segment inlines its compiled value, so a chain of segments
        each reading the one before (`segment('s1') and ...`) nests as deep as the whole chain:
        too deep for SQL generation and the databases' parsers.  When a value would nest deeper,
        what was compiled so far becomes columns of a new table (a layer, closed by a view so
        that Ibis does not merge the layers back into one select) and later rules read those
        columns.  Specs without such chains compile in one layer, as before."""
        self._layered: dict[Ref, str] = {}  # ref -> its column in the current table
        nesting: dict[Ref, int] = {}  # ref -> how deep its compiled value nests, in levels of the rules
        layer: list[Ref] = []  # refs compiled over the current table, not yet columns
        for ref in refs:
            kind, name = ref
            own = depth(self.checked.features[name] if kind == "feature" else self.checked.segments[name])
            deps = [dep for dep, _ in self.checked.deps.get(ref, ())]
            estimate = own + max((nesting.get(dep, 1) for dep in deps), default=0)
            if estimate > INLINE_DEPTH and layer:
                self._new_layer(layer)
                nesting.update((r, 1) for r in layer)
                layer = []
                estimate = own + (1 if deps else 0)
            nesting[ref] = estimate
            self.feature(name) if kind == "feature" else self.segment(name)
            layer.append(ref)

    def _new_layer(self, refs: list[Ref]) -> None:
        """The values of ``refs`` (compiled over ``self.joined``) as columns of a new table, which
        the plan compiles over from now on (see :meth:`_compile_in_layers`)."""
        columns: dict[Ref, tuple[str, ir.Value]] = {}
        for kind, name in refs:
            if kind == "feature" and self.checked.feature_types.get(name, dt.null).is_null():
                continue  # an untyped null: nothing to nest, compiled again where it is read
            value = self.feature(name) if kind == "feature" else self.segment(name)
            columns[(kind, name)] = (self._fresh(f"_{kind}_{name}"), value)
        table = self.joined.mutate(**{column: value for column, value in columns.values()}).view()
        self.use(table)
        self._layered.update((ref, column) for ref, (column, _) in columns.items())
        for (kind, name), column in self._layered.items():
            self.scope.known(kind, name, self.scope.compiler.column(column))

    @property
    def rank_columns(self) -> dict[a.Call, str]:
        """Rank call -> its column in the joined table (filled by :func:`.ranks.with_rank_columns`)."""
        return self.columns.ranks

    def _fresh(self, base: str) -> str:
        """A column name not yet used in the joined table."""
        return fresh_name(base, self._taken)

    def _grouped(self, source_name: str, aggs: list[a.Aggregate], scope: EntityScope | None
                 ) -> tuple[str, ir.Table]:
        """(key column, table): one row per key with every aggregate of ``aggs`` fused in; with
        ``scope``, the source rows carry the entity values the aggregates read."""
        src = self.model.sources[source_name]
        # every aggregate windowed: read only the rows the widest window counts
        widest = _widest_window(aggs, self.params)
        horizon = ahead_horizon(aggs, self.params)
        if horizon is not None:  # `within next D` only: the rows now < t <= now + the longest D
            span = duration(horizon)
            table = source_rows(self.checked, self.tables, source_name, now_value(self.now) + span, span)
        else:
            table = source_rows(self.checked, self.tables, source_name, self.now,
                                duration(widest) if widest is not None else None)
        if scope is None:
            compiler = ExprCompiler(self.checked, table, self.now, self.params, source=source_name,
                                    dialect=self.dialect)
        else:
            names = set[str]().union(*(entity_values(self.checked, agg) for agg in aggs))
            rows = entity_rows(scope, source_name, names, table)
            table, compiler = rows.table, rows.compiler(self.checked, self.now, self.params)
        metrics: dict[str, ir.Scalar] = {}
        for agg in aggs:
            while f"_agg{self._counter}" in self._taken:
                self._counter += 1
            column = self._fresh(f"_agg{self._counter}")
            metrics[column] = _aggregate_metric(agg, compiler, table, src.key, src.time, self.dialect, widest)
            self.columns.aggregates[agg] = (column, agg.func)
        group_key = self._fresh(f"_key_{source_name}")
        return group_key, table.group_by(**{group_key: table[src.key]}).aggregate(**metrics)

    # -- callbacks for the entity-scope compiler -----------------------------------------
    def aggregate(self, agg: a.Aggregate) -> ir.Value:
        return self.scope.aggregate(agg)

    def namespace(self, namespace: str, name: str | tuple[LiteralValue, ...]) -> ir.Value:
        return self.scope.namespace(namespace, name)

    def sequence(self, node: a.Sequence) -> ir.Value:
        return self.scope.sequence(node)

    def rank(self, call: a.Call) -> ir.Value:
        return self.scope.rank(call)

    def feature(self, name: str) -> ir.Value:
        return self.scope.feature(name)

    def segment(self, name: str) -> ir.BooleanValue:
        return self.scope.segment(name)


def compile_plan(checked: CheckedSpec, tables: dict[str, ir.Table], now: datetime | ir.TimestampValue,
                 params: dict[str, Any], segments: list[str] | None = None, features: bool | list[str] = True,
                 *, dialect: str | None = None) -> ir.Table:
    """The wide table (key, one boolean per segment, features) as one Ibis expression;
    ``dialect`` names the target backend (``None``: portable Ibis ops only)."""
    return Plan(checked, tables, now, params, dialect=dialect).build(segments, features)


def _closed(joined: ir.Table, keys: list[str]) -> ir.Table:
    """``joined`` without the join keys: rules compile against a closed join much faster than
    against an open one (Ibis dereferences every expression through a join)."""
    return joined.select(*[c for c in joined.columns if c not in keys])
