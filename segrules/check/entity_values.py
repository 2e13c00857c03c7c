"""``entity.NAME`` inside an aggregate: the entity's own column or feature, read by every source
row of that entity (``count(orders where ordered_at <= entity.signup_at + 7d)``).

Type rules (called by :class:`~.typecheck.TypeChecker`): ``entity.NAME`` only inside an
aggregate's ``where`` or its ``between`` bounds (SR316); ``NAME`` an entity column or a feature
(SR317).  A feature read this way is a dependency of the rule, so the cycle pass finds an
aggregate that reads a value computed from itself (SR319, :mod:`.cycles`) and ``closure()``
includes it.  ``entity`` is reserved as a source or namespace name (SR318, :mod:`.analyze`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping

from ..builtin import FUNCTIONS
from ..diagnostics import Diagnostic
from ..lang import ast as a
from .schema import did_you_mean

if TYPE_CHECKING:
    from ..types import DataType

    from .cycles import Ref
    from .typecheck import Binding, Scope, TypeChecker

    Deps = Mapping[Ref, list[tuple[Ref, a.Node]]]

ENTITY_NAMESPACE = "entity"
"""``entity.NAME``: reserved; no source or plugin namespace may be called this."""


@dataclass(frozen=True)
class EntityValue:
    """The binding of ``entity.NAME`` inside an aggregate (its ``where`` or ``between`` bounds):
    the entity row's column or feature ``NAME``, one value per entity read by every source row
    of that entity.  ``feature``: ``NAME`` is a feature (computed, with its aggregates, before
    this aggregate)."""

    name: str
    feature: bool = False


def entity_value(checker: TypeChecker, node: a.Dotted, scope: Scope) -> DataType | None:
    """The type of ``entity.NAME`` at ``node`` (None after reporting a problem); binds it."""
    env, name = checker.env, node.name
    if scope.aggregate is None:
        if scope.source is not None:  # a plugin section's source expression (rfm: amount: ...)
            checker.error("SR316", f"entity.{name} cannot be used in a plugin section's source expressions",
                          node, "they are computed per source row before any entity value; "
                          "use entity values in an aggregate of a feature or segment instead")
        else:
            checker.error("SR316", f"entity.{name} can only be used inside an aggregate's where or its "
                          "between bounds", node, f"on the entity row write {name}")
        return None
    if name in env.broken:
        return None
    if name in env.features:
        checker.bindings[id(node)] = EntityValue(name, feature=True)
        checker.refs.append(("feature", name, node))  # computed first; cycles found by the cycle pass
        return checker.feature_type(name)
    if name in env.entity:
        checker.bindings[id(node)] = EntityValue(name)
        return env.entity[name]
    hint: str | None
    if name in env.sources[scope.aggregate]:
        hint = f"{name} is a column of {scope.aggregate}: inside its where write {name}"
    elif name in env.sources:
        hint = f"{name} is a source: aggregate it in a feature, e.g. n_{name}: count({name})"
    elif name in env.segments:
        hint = f"entity. reads columns and features: define a feature, e.g. in_{name}: segment('{name}')"
    else:
        hint = did_you_mean(name, list(env.entity.names) + list(env.features))
    checker.error("SR317", f"entity.{name}: {name!r} is not a column of the entity table or a feature", node,
                  hint)
    return None


def not_constant(node: a.Node) -> bool:
    """A node a time range bound cannot contain (SR412): a source column, a bare entity column
    or feature, a plugin value, an aggregate or a segment (``entity.NAME`` is allowed)."""
    if isinstance(node, a.Dotted):
        return node.namespace != ENTITY_NAMESPACE
    return isinstance(node, (a.Name, a.Aggregate, a.SegmentRef))


def ranks_read_by_aggregates(features: dict[str, a.Node], segments: dict[str, a.Node],
                             bindings: Mapping[int, Binding], deps: Deps) -> list[Diagnostic]:
    """SR433 where ``entity.NAME`` reads a feature that is (or uses) a population rank
    (``percent_rank``, ``ntile``, ``top_n``): ranks are computed over the finished entity table,
    after every aggregate, so an aggregate cannot read one."""
    out: list[Diagnostic] = []
    seen: set[int] = set()
    for root in list(features.values()) + list(segments.values()):
        for node in root.walk():
            binding = bindings.get(id(node))
            if not (isinstance(binding, EntityValue) and binding.feature) or id(node) in seen:
                continue
            seen.add(id(node))
            rank = _rank_in_feature(binding.name, features, deps)
            if rank is not None:
                out.append(Diagnostic(
                    "SR433", f"entity.{binding.name} reads the population rank {rank}(), which is computed after "
                    "every aggregate: an aggregate cannot read it", node.span,
                    hint=f"compare {binding.name} on the entity row, outside the aggregate"))
    return out


def _rank_in_feature(name: str, features: dict[str, a.Node], deps: Deps) -> str | None:
    """The name of a rank function the feature ``name`` uses, directly or through features."""
    todo: list[Ref] = [("feature", name)]
    done: set[Ref] = set()
    while todo:
        ref = todo.pop()
        if ref in done or ref[0] != "feature" or ref[1] not in features:
            continue
        done.add(ref)
        for node in features[ref[1]].walk():
            if isinstance(node, a.Call) and node.name in FUNCTIONS and FUNCTIONS[node.name].population:
                return node.name
        todo.extend(target for target, _ in deps.get(ref, ()))
    return None
