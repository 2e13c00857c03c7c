"""Numbers and choices between values: ``abs``, ``round``, ``coalesce``, ``least``, ``greatest``."""

from __future__ import annotations

from typing import Any, Callable

from ..check.ranges import MAX_ROUND_DIGITS
from ..check.types import common_type, describe, is_numeric
from .. import types as st
from ..types import DataType
from ..lang import ast as a
from .base import CallInfo, FunctionDef, Problem


def _arity(info: CallInfo, lo: int, hi: int) -> Problem | None:
    if not lo <= len(info.types) <= hi:
        want = f"{lo} to {hi}" if hi < 99 else f"at least {lo}"
        return info.problem(f"takes {want} argument{'s' if hi != 1 else ''}, got {len(info.types)}")
    return None


def _check_common(info: CallInfo) -> DataType | Problem:
    """``coalesce``, ``least``, ``greatest``: one or more values of a common type (the result's)."""
    problem = _arity(info, 1, 99)
    if problem is not None:
        return problem
    common = common_type(info.types)
    if common is None:
        return info.problem("arguments must have compatible types, got " + ", ".join(describe(t) for t in info.types))
    return common


def _common(name: str) -> Callable[..., Any]:
    """The compile of ``ibis.<name>`` (coalesce, least, greatest) over the arguments cast to the call's type."""
    def compile_(ctx: Any, args: list[Any], nodes: list[a.Node]) -> Any:
        import ibis  # the compile stage has it loaded; checking does not need it

        return getattr(ibis, name)(*[arg.cast(ctx.type_of_call) for arg in args])
    return compile_


def _check_round(info: CallInfo) -> DataType | Problem:
    types, nodes = info.types, info.args
    problem = _arity(info, 1, 2)
    if problem is not None:
        return problem
    if not (types[0].is_null() or is_numeric(types[0])):
        return info.problem(f"argument 1 must be numeric, got {describe(types[0])}")
    digits = nodes[1] if len(nodes) == 2 else None
    if digits is not None and not (isinstance(digits, a.Number) and isinstance(digits.value, int)):
        return info.problem("argument 2 (digits) must be a whole number literal")
    if isinstance(digits, a.Number) and digits.value > MAX_ROUND_DIGITS:
        return info.problem(f"argument 2 (digits) is at most {MAX_ROUND_DIGITS}, got {digits.value}")
    return st.float64 if not types[0].is_decimal() else types[0]


def _round(ctx: Any, args: list[Any], nodes: list[a.Node]) -> Any:
    digits = nodes[1].value if len(nodes) > 1 else 0  # type: ignore[attr-defined]  # a Number: the rule
    t = args[0].type()
    if t.is_decimal() and t.scale is not None:
        # A decimal has no digits beyond its scale: rounding to more is rounding to the scale
        # (exactly), and Ibis would give the result the scale `digits`, beyond its precision.
        digits = min(digits, t.scale)
    return args[0].round(digits).cast(ctx.type_of_call)


def _choice(name: str, doc: str) -> FunctionDef:
    # null is what these are about: a bare null argument reaches compile as a null of the call's type
    return FunctionDef(name, compile=_common(name), doc=doc, rule=_check_common, context=True,
                       signature=f"{name}(x, ...: values of a common type) → the common type")


FUNCTIONS = (
    FunctionDef("abs", ("numeric",), lambda types: types[0], lambda ctx, args, nodes: args[0].abs(),
                "the absolute value of x", context=True, null_in_null_out=True,
                signature="abs(x: numeric) → type of x"),
    FunctionDef("round", compile=_round, doc="x rounded to digits decimal places (0 by default)", rule=_check_round,
                context=True, null_in_null_out=True,
                signature="round(x: numeric, digits: whole-number literal) → float64 (a decimal stays decimal)"),
    _choice("coalesce", "the first of the values that is not null"),
    _choice("least", "the smallest of the values"),
    _choice("greatest", "the largest of the values"),
)
