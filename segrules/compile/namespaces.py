"""Plugin namespaces in the plan: what a namespace's ``build`` gets, and its join.

A namespace (``rfm``) is built once per plan as an Ibis table keyed by the entity key, from the
same point-in-time source tables as the aggregates, and left-joined to the entity table only when
a rule uses one of its values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


from ..check import CheckedSpec
from ..check.types import dtype
from ..errors import CompileError
from .to_ibis import ExprCompiler, now_value


def point_in_time(table, time: str | None, now: datetime, within=None):
    """Rows of ``table`` at or before ``now`` (all rows when there is no time column). A null
    time compares unknown, so those rows are left out too. ``within`` (an Ibis interval): only
    rows after ``now - within`` as well."""
    if not time:
        return table
    now = now_value(now)
    rows = table[time] <= now
    if within is not None:
        rows = rows & (table[time] > now - within)
    return table.filter(rows)


@dataclass
class NamespaceBuild:
    """What ``NamespaceDef.build`` gets: the section's config, the evaluation time, the entity
    table and the sources as of ``now``, and the section's source expressions compiled."""

    namespace: str
    config: Any
    checked: CheckedSpec
    tables: dict[str, Any]
    now: datetime
    params: dict[str, Any]

    @property
    def key(self) -> str:
        """The entity key column: the built table must have it."""
        return self.checked.model.entity.key

    @property
    def now_literal(self):
        return now_value(self.now)

    @property
    def entity(self):
        """The entity table (entities created after ``now`` left out when ``entity.time`` is set)."""
        m = self.checked.model
        return point_in_time(self.tables[m.entity.table], m.entity.time, self.now)

    def source(self, name: str):
        """The rows of source ``name`` at or before ``now``."""
        src = self.checked.model.sources[name]
        return point_in_time(self.tables[src.table], src.time, self.now)

    def source_key(self, name: str) -> str:
        return self.checked.model.sources[name].key

    def source_time(self, name: str) -> str | None:
        return self.checked.model.sources[name].time

    def expression(self, key: str, table):
        """The source expression ``key`` of this namespace compiled over ``table`` (the source's
        rows, possibly already filtered)."""
        found = self.checked.source_expressions.get((self.namespace, key))
        if found is None:
            raise CompileError(f"namespace {self.namespace} has no source expression {key!r}", code="SR450")
        decl, node = found
        return ExprCompiler(self.checked, table, self.now, self.params, source=decl.source).compile(node)


def build_namespace(name: str, checked: CheckedSpec, tables, now, params, fields: list[str]):
    """The namespace's table restricted to the key and ``fields``, checked against its contract."""
    nd, config, declared = checked.namespaces[name]
    table = nd.build(NamespaceBuild(name, config, checked, tables, now, params))
    key = checked.model.entity.key
    missing = [c for c in [key, *fields] if c not in table.columns]
    if missing:
        raise CompileError(f"namespace {name!r} built a table without the column(s) {', '.join(missing)}",
                           code="SR606")
    return table.select(key, *[table[f].cast(dtype(declared[f].dtype)).name(f) for f in fields])
