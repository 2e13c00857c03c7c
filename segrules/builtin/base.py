"""What a built-in function is (:class:`Builtin`) and the helpers its type rules share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import ibis.expr.datatypes as dt

from ..errors import CompileError
from ..lang import ast as a
from ..lang.unparse import unparse


@dataclass(frozen=True)
class Problem:
    """Why a call does not type-check: a diagnostic for ``node`` (the call when None)."""

    code: str
    message: str
    node: a.Node | None = None
    hint: str | None = None


@dataclass(frozen=True)
class CallInfo:
    """What a signature sees: the call, its argument types (none of them None) and the
    spec's parameter values (a constant argument may be ``$name``)."""

    node: a.Call
    types: list[dt.DataType]
    params: Mapping[str, object]

    @property
    def args(self) -> tuple[a.Node, ...]:
        return self.node.args

    def problem(self, message: str, hint: str | None = None) -> Problem:
        """The SR404 convention: ``fn(): message`` at the call."""
        return Problem("SR404", f"{self.node.name}(): {message}", None, hint)


@dataclass(frozen=True)
class Builtin:
    """One built-in function.

    ``check(info)`` returns the result type or a :class:`Problem`.  ``compile(ctx, args, nodes)``
    gets the expression compiler (``ctx.now``, ``ctx.dialect``, ``ctx.type_of_call``), the
    compiled arguments (a bare ``null`` argument never reaches it: null in, null out) and the
    argument nodes.  ``population``: the value depends on every evaluated entity, and
    ``compile(value, n, key, nullable)`` gets the compiled first argument, the constant second one
    (or None), the entity key column and whether the value can be null, and returns a window
    expression over the whole entity table (see ``compile/ranks``).
    """

    name: str
    check: Callable[[CallInfo], "dt.DataType | Problem"]
    compile: Callable[..., Any]
    signature: str
    doc: str
    population: bool = False


def arity(info: CallInfo, n: int) -> Problem | None:
    if len(info.types) != n:
        return info.problem(f"takes {n} argument{'s' if n != 1 else ''}, got {len(info.types)}")
    return None


def int_constant(node: a.Node, params: Mapping[str, object]) -> int | None:
    """The value of a whole-number literal (``10``, ``-1``) or an integer ``$parameter``, else None."""
    if isinstance(node, a.Neg):
        value = int_constant(node.operand, params)
        return None if value is None else -value
    if isinstance(node, a.Number) and isinstance(node.value, int):
        return node.value
    if isinstance(node, a.Param):
        value = params.get(node.name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return None


def constant_int(info: CallInfo, i: int, what: str, maximum: int = 2**63 - 1) -> "int | Problem":
    """The value of argument ``i``, a positive :func:`int_constant` (SR423 when it is not a
    constant, SR424 when it is not positive or above ``maximum``)."""
    node = info.args[i]
    value = int_constant(node, info.params)
    if value is None:
        return Problem("SR423", f"{info.node.name}(): {what} must be a whole-number literal or an integer "
                       "parameter", node, f"e.g. {info.node.name}({_example(info)})")
    if value <= 0:
        return Problem("SR424", f"{info.node.name}(): {what} must be at least 1, got {value}", node)
    if value > maximum:
        return Problem("SR424", f"{info.node.name}(): {what} must be at most {maximum}, got {value}", node)
    return value


def run_constant(func: str, node: a.Node, params: Mapping[str, object], maximum: int = 2**63 - 1) -> int:
    """The constant argument ``node`` of ``func`` with the run's parameter values.  The check
    stage saw the spec's own values; a ``--param`` override is checked here (SR424)."""
    value = int_constant(node, params)
    if value is None or not 1 <= value <= maximum:
        raise CompileError(f"{func}(): {unparse(node)} must be a whole number from 1 to {maximum}, got {value!r} "
                           "(with this run's parameters)", span=node.span, code="SR424")
    return value


def _example(info: CallInfo) -> str:
    return {"ntile": "score, 10", "top_n": "ltv, 100", "bucket": "customer_id, 'holdout', 10"}.get(
        info.node.name, "x, 10")
