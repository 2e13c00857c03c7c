"""Plugin entity functions in rules: ``cohort('signup_week')``, ``retained('signup_week', 4)``.

A call names an entry of the plugin's spec section (a string literal) and passes further
literals; its value is a per-entity column the plugin builds (``EntityFunctionDef.build``) and
the plan joins, like a namespace value.  The binding records the function and the literal
argument values, so equal calls share one column.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, TypeAlias

from ..lang import ast as a
from ..lang.unparse import unparse
from ..plugin.types import EntityFunctionDef
from .schema import did_you_mean
from .types import describe, dtype, matches_category

if TYPE_CHECKING:
    from ..types import DataType

    from .typecheck import Scope, TypeChecker

# The literal nodes an argument may be, with the Python value it stands for.
_LITERALS = (a.String, a.Number, a.Boolean)
LiteralValue: TypeAlias = str | int | Decimal | bool


@dataclass(frozen=True)
class EntityFunctionValue:
    """``cohort('signup_week')``: the per-entity value of plugin entity function ``function``
    for ``args`` (the entry name, then the other literal values)."""

    function: str
    args: tuple[LiteralValue, ...]


def _literal(node: a.Node) -> LiteralValue | None:
    """The value of a literal argument, or None; a negated number counts as a literal."""
    if isinstance(node, a.Neg) and isinstance(node.operand, a.Number):
        return -node.operand.value
    if isinstance(node, _LITERALS):
        return node.value
    return None


def check_entity_function(checker: TypeChecker, node: a.Call, scope: Scope, fn: EntityFunctionDef,
                          config: object) -> DataType | None:
    """The type of the call, or None after reporting its problems (at the argument's position)."""
    if scope.source is not None:
        checker.error("SR308", f"{node.name}() is a value per entity, not per row; it cannot be used inside "
                      f"an aggregate over {scope.source}", node, f"compare it outside the aggregate")
        return None
    if config is None:
        checker.error("SR313", f"{node.name}() needs a {fn.section}: section in the spec", node)
        return None
    if checker.section == fn.section:
        checker.error("SR501", f"{node.name}() reads the {fn.section}: section, so it cannot be used in that "
                      "section's own expressions", node)
        return None
    want = 1 + len(fn.args)
    if len(node.args) != want:
        example = ", ".join(["'name'", *fn.args])
        checker.error("SR404", f"{node.name}(): takes {want} argument{'s' * (want != 1)}, got {len(node.args)}",
                      node, f"e.g. {node.name}({example})")
        return None
    entries = list(fn.entries(config))
    first = node.args[0]
    if not isinstance(first, a.String):
        checker.error("SR434", f"{node.name}(): the first argument must be a string literal naming an entry of "
                      f"{fn.section}:, got {unparse(first)}", first,
                      f"e.g. {node.name}('{entries[0]}')" if entries else None)
        return None
    if first.value not in entries:
        checker.error("SR320", f"{node.name}(): {fn.section}: has no entry {first.value!r}", first,
                      did_you_mean(first.value, entries) or
                      (f"{fn.section}: has {', '.join(entries)}" if entries else f"{fn.section}: is empty"))
        return None
    values: list[LiteralValue] = [first.value]
    for arg, category in zip(node.args[1:], fn.args):
        value = _literal(arg)
        t = checker.check(arg, scope) if value is not None else None
        if value is None or t is None or not matches_category(t, category):
            got = describe(t) if t is not None else unparse(arg)
            checker.error("SR434", f"{node.name}(): argument {len(values) + 1} must be a literal of type {category}, "
                          f"got {got}", arg)
            return None
        values.append(value)
    args = tuple(values)
    if fn.check is not None:
        problem = fn.check(config, first.value, args[1:])
        if problem:
            checker.error("SR434", f"{node.name}(): {problem}", node)
            return None
    checker.bindings[id(node)] = EntityFunctionValue(fn.name, args)
    checker.refs.extend(checker.section_refs.get(fn.section, ()))
    return dtype(fn.returns(first.value, args[1:]) if callable(fn.returns) else fn.returns)
