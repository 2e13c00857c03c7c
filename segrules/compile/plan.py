"""The query plan of a spec: ONE Ibis expression for all its segments and features.

* one grouped aggregation per source, with every aggregate the spec needs fused into it as a
  filtered aggregate (``sum(x) FILTER (WHERE ...)``), over the source rows at or before ``now``;
* left-joined to the entity table on the key;
* one boolean column per segment (never null), then the features.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from ..check import CheckedSpec
from ..check.typecheck import NamespaceValue
from ..errors import CompileError
from ..lang import ast as a
from .backends import by_time
from .namespaces import build_namespace, point_in_time
from .nullability import never_null
from .relations import project
from .sequences import build_sequence
from .to_ibis import ExprCompiler, duration
from .windows import resolve_duration, window_condition

ZERO_WHEN_EMPTY = ("count", "count_distinct", "sum")


def _aggregate_metric(agg: a.Aggregate, compiler: ExprCompiler, table, key: str, time: str | None,
                      backend: str | None = None):
    """The Ibis reduction for one aggregate over the (already point-in-time filtered) source;
    ``backend`` names the target backend, for the translations in ``backends``."""
    conds = []
    if agg.where is not None:
        conds.append(compiler.typed(agg.where, dt.boolean))
    if agg.window is not None:
        conds.append(window_condition(agg.window, compiler, compiler.column(time)))
    where = None
    for cond in conds:
        where = cond if where is None else where & cond
    if agg.column is None:
        return compiler.column(key).count(where=where)
    col = compiler.column(agg.column)
    if agg.func in ("first", "last"):
        # arg_min/arg_max by time, skipping null values: translated by every Ibis backend
        # (ARRAY_AGG(..)[1] on Postgres, MIN_BY/MAX_BY elsewhere); DuckDB's own arg_min/arg_max
        # when it is the target (Ibis would write the slower FIRST(.. ORDER BY)).
        present = col.notnull() if where is None else where & col.notnull()
        builtin = by_time(backend, agg.func, col.type(), compiler.column(time).type())
        if builtin is not None:
            return builtin(col, compiler.column(time), where=present)
        reduce = col.argmin if agg.func == "first" else col.argmax
        return reduce(compiler.column(time), where=present)
    method = {"count": "count", "count_distinct": "nunique", "sum": "sum", "avg": "mean",
              "min": "min", "max": "max"}[agg.func]
    return getattr(col, method)(where=where)


def _widest_window(aggs: list[a.Aggregate], params: dict[str, Any]) -> a.Duration | None:
    """The longest ``within`` duration if every aggregate has one, else ``None``."""
    if not all(isinstance(agg.window, a.Within) for agg in aggs):
        return None
    return max((resolve_duration(agg.window.duration, params) for agg in aggs), key=lambda d: d.seconds)


class Plan:
    """Builds the wide membership table for a checked spec against concrete Ibis tables."""

    def __init__(self, checked: CheckedSpec, tables: dict[str, Any], now: datetime, params: dict[str, Any],
                 *, dialect: str | None = None):
        self.checked, self.tables, self.now, self.params = checked, tables, now, params
        self.dialect = dialect  # the target backend, for the translations in .backends
        self.model = checked.model
        self._features: dict[str, Any] = {}
        self._segments: dict[str, Any] = {}
        self._aggregates: dict[a.Aggregate, Any] = {}
        self._agg_columns: dict[a.Aggregate, tuple[str, str]] = {}  # agg -> (column, func)
        self._ns_columns: dict[tuple[str, str], str] = {}  # (namespace, field) -> column
        self._seq_columns: dict[a.Sequence, str] = {}  # sequence -> its column

    def build(self, segments: list[str] | None = None, features: bool | list[str] = True):
        m = self.model
        names = list(m.segments) if segments is None else segments
        unknown = [n for n in names if n not in m.segments]
        if unknown:
            raise CompileError(f"unknown segment(s): {', '.join(unknown)}", code="SR304")
        feature_names = list(m.features) if features is True else list(features or [])
        needed_refs = set(self.checked.closure(
            [("segment", n) for n in names] + [("feature", f) for f in feature_names]))
        joined = self._join(needed_refs)
        self.joined = joined
        self.entity = ExprCompiler(self.checked, joined, self.now, self.params,
                                   feature=self.feature, segment=self.segment, aggregate=self.aggregate,
                                   namespace=self.namespace, sequence=self.sequence)
        key = m.entity.key
        columns = {key: joined[key]}
        for name in names:
            columns[name] = self.segment(name)
        for name in feature_names:
            columns[name] = self.feature(name)
        return project(joined, columns)

    # -- the grouped aggregations --------------------------------------------------------
    def _join(self, needed_refs):
        m = self.model
        entity = point_in_time(self.tables[m.entity.table], m.entity.time, self.now)
        roots = [self.checked.features[n] if k == "feature" else self.checked.segments[n] for k, n in needed_refs]
        used, used_ns, sequences = set(), {}, {}
        for root in roots:
            for n in root.walk():
                if isinstance(n, a.Aggregate):
                    used.add(n)
                elif isinstance(n, a.Sequence):
                    sequences.setdefault(n, None)
                elif isinstance(binding := self.checked.bindings.get(id(n)), NamespaceValue):
                    used_ns.setdefault(binding.namespace, set()).add(binding.name)
        taken = set(entity.columns)
        joined = entity
        counter = 0
        group_keys = set()
        for source_name, aggs in self.checked.aggregates.items():
            aggs = [agg for agg in aggs if agg in used]
            if not aggs:
                continue
            src = m.sources[source_name]
            # every aggregate windowed: read only the rows the widest window counts
            widest = _widest_window(aggs, self.params)
            table = point_in_time(self.tables[src.table], src.time, self.now,
                                  duration(widest) if widest is not None else None)
            compiler = ExprCompiler(self.checked, table, self.now, self.params, source=source_name)
            metrics = {}
            for agg in aggs:
                while f"_agg{counter}" in taken:
                    counter += 1
                column = f"_agg{counter}"
                taken.add(column)
                metrics[column] = _aggregate_metric(agg, compiler, table, src.key, src.time, self.dialect)
                self._agg_columns[agg] = (column, agg.func)
            group_key = f"_key_{source_name}"
            while group_key in taken:
                group_key = "_" + group_key
            taken.add(group_key)
            group_keys.add(group_key)
            grouped = table.group_by(**{group_key: table[src.key]}).aggregate(**metrics)
            # Keys by name: a predicate expression would make Ibis walk the whole aggregation.
            joined = joined.left_join(grouped, [(m.entity.key, group_key)])
        for ns, fields in sorted(used_ns.items()):
            fields = sorted(fields)
            table = build_namespace(ns, self.checked, self.tables, self.now, self.params, fields)
            renames = {}
            for f in [m.entity.key, *fields]:
                column = f"_{ns}_{f}"
                while column in taken:
                    column = "_" + column
                taken.add(column)
                renames[column] = f
            table = table.rename(renames)
            group_key = next(c for c, f in renames.items() if f == m.entity.key)
            group_keys.add(group_key)
            self._ns_columns.update({(ns, f): c for c, f in renames.items() if c != group_key})
            joined = joined.left_join(table, [(m.entity.key, group_key)])
        for node in sequences:
            table = build_sequence(node, self.checked, self.tables, self.now, self.params)
            group_key, column = self._fresh("_seq_key", taken), self._fresh(f"_seq{len(self._seq_columns)}", taken)
            group_keys.add(group_key)
            self._seq_columns[node] = column
            joined = joined.left_join(table.rename({group_key: "_k", column: "_v"}), [(m.entity.key, group_key)])
        if joined is not entity:
            # Close the join into a plain projection: rules compile against it much faster than
            # against the join itself (Ibis dereferences every expression through a join).
            joined = joined.drop(*group_keys)
        return joined

    @staticmethod
    def _fresh(name: str, taken: set[str]) -> str:
        while name in taken:
            name = "_" + name
        taken.add(name)
        return name

    # -- callbacks for the entity-scope compiler -----------------------------------------
    def sequence(self, node: a.Sequence):
        """A sequence's value on the entity row: 0 steps for an entity without a step-1 row."""
        value = self.entity.column(self._seq_columns[node])
        return value.fill_null(0) if node.func == "sequence" else value

    def aggregate(self, agg: a.Aggregate):
        if agg not in self._aggregates:
            column, func = self._agg_columns[agg]
            value = self.entity.column(column)
            self._aggregates[agg] = value.fill_null(0) if func in ZERO_WHEN_EMPTY else value
        return self._aggregates[agg]

    def namespace(self, namespace: str, name: str):
        return self.entity.column(self._ns_columns[(namespace, name)])

    def feature(self, name: str):
        if name not in self._features:
            self._features[name] = self.entity.compile(self.checked.features[name])
        return self._features[name]

    def segment(self, name: str):
        if name not in self._segments:
            node = self.checked.segments[name]
            if self.checked.types[id(node)].is_null():  # e.g. `where: null`: never a match
                self._segments[name] = ibis.literal(False)
            else:
                rule = self.entity.compile(node)  # unknown is not a match
                self._segments[name] = rule if never_null(rule) else rule.fill_null(self.entity.lit(False, dt.boolean))
        return self._segments[name]


def compile_plan(checked: CheckedSpec, tables: dict[str, Any], now: datetime, params: dict[str, Any],
                 segments: list[str] | None = None, features: bool | list[str] = True,
                 *, dialect: str | None = None):
    """The wide table (key, one boolean per segment, features) as one Ibis expression;
    ``dialect`` names the target backend (``None``: portable Ibis ops only)."""
    return Plan(checked, tables, now, params, dialect=dialect).build(segments, features)
