"""The ranges constants must keep to, so that what the type checker accepts runs on every
backend (DuckDB and PostgreSQL, through Ibis, and back into Python values).

One rule for every literal, parameter and constant-folded expression: the value, worked out
now, must fit the type it has at run time:

* integers (literals, parameters, and ``+ - *`` of them) fit 64 bits (SR414);
* a number with a fraction is a finite double (SR414);
* a duration (literal, ``$param``, or the sum of the constant shifts applied to one value,
  ``t - 30d - 1h``) is at most :data:`MAX_SHIFT_DAYS` days, and ``add_months`` shifts at most
  :data:`MAX_MONTHS` months (SR417): a time moved further leaves the years the backends and
  Python's datetime can carry (1 to 9999) for any date near the present;
* a date or timestamp computed from a literal (``date('9999-12-31') + 1d``) stays within the
  years 1 to 9999 (SR418);
* ``round``'s digits are at most :data:`MAX_ROUND_DIGITS` (SR404);
* ``+ - * %`` with a decimal operand has the decimal type that holds every result of its
  operands' types (:func:`decimal_result`), as wide as :data:`MAX_DECIMAL_DIGITS`; beyond, a double.

docs/language.md ("Limits") lists these with their codes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Mapping

from ..lang import ast as a
from ..lang.lexicon import duration_param
from .. import types as st
from ..types import DataType

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
MAX_SHIFT_DAYS = 365_000  # about 999 years
MAX_SHIFT_SECONDS = MAX_SHIFT_DAYS * 86400
MAX_MONTHS = 12_000  # 1000 years
MAX_ROUND_DIGITS = 308  # a double has no digits beyond 10**308
MAX_DECIMAL_DIGITS = 38  # the widest decimal of DuckDB, Arrow's decimal128 and most warehouses


def decimal_result(op: str, left: DataType, right: DataType) -> DataType:
    """The type of ``left op right`` (``+ - * %``) where one side is a decimal and the other a
    decimal or an integer: the SQL-standard precision and scale that hold every result, so that
    every backend computes, and returns, that one type.  A result wider than
    :data:`MAX_DECIMAL_DIGITS` digits is a double (approximate, never an overflow); a decimal of
    unknown precision keeps its type."""
    def digits(t: DataType) -> tuple[int | None, int]:  # (precision, scale); an int64 holds 19 digits
        return (t.precision, t.scale or 0) if t.is_decimal() else (19, 0)

    (p1, s1), (p2, s2) = digits(left), digits(right)
    if p1 is None or p2 is None:
        return left if left.is_decimal() and left.precision is None else right
    if op == "*":
        scale, whole = s1 + s2, (p1 - s1) + (p2 - s2)
    elif op == "%":
        scale, whole = max(s1, s2), min(p1 - s1, p2 - s2)
    else:  # + and -: one more digit for the carry
        scale, whole = max(s1, s2), max(p1 - s1, p2 - s2) + 1
    if whole + scale > MAX_DECIMAL_DIGITS:
        return st.float64
    return DataType("decimal", precision=whole + scale, scale=scale)


def int64_fits(value: int) -> bool:
    return INT64_MIN <= value <= INT64_MAX


def constant_int(node: a.Node, params: Mapping[str, object]) -> int | None:
    """The value of an integer constant: a literal, an integer ``$param``, ``-`` and ``+ - *``
    of those; None for anything else.  Iterative over a chain of operators."""
    if isinstance(node, a.Number):
        return node.value if isinstance(node.value, int) else None
    if isinstance(node, a.Param):
        value = params.get(node.name)
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    if isinstance(node, a.Neg):
        sign = 1
        while isinstance(node, a.Neg):
            sign, node = -sign, node.operand
        inner = constant_int(node, params)
        return None if inner is None else sign * inner
    if isinstance(node, a.BinOp) and node.op in "+-*":
        left, right = constant_int(node.left, params), constant_int(node.right, params)
        if left is None or right is None:
            return None
        return {"+": left + right, "-": left - right, "*": left * right}[node.op]
    return None


def duration_seconds(node: a.Node, params: Mapping[str, object]) -> int | None:
    """Signed seconds of a constant duration (a literal, a duration ``$param``, ``-`` of one)."""
    sign = 1
    while isinstance(node, a.Neg):
        sign, node = -sign, node.operand
    if isinstance(node, a.Duration):
        return sign * node.seconds
    if isinstance(node, a.Param):
        span = duration_param(params.get(node.name))
        return None if span is None else sign * span.seconds
    return None


def shifted(node: a.BinOp, params: Mapping[str, object]) -> tuple[a.Node, int] | None:
    """``(base, seconds)`` when ``node`` is ``base`` moved by constant durations
    (``base - 30d + 1h``, ``7d + base``), None when any step is not a constant duration."""
    total = 0
    current: a.Node = node
    while isinstance(current, a.BinOp) and current.op in "+-":
        right = duration_seconds(current.right, params)
        if right is not None:
            total += right if current.op == "+" else -right
            current = current.left
            continue
        left = duration_seconds(current.left, params)
        if left is not None and current.op == "+":
            total += left
            current = current.right
            continue
        return None
    return current, total


def literal_time(node: a.Node) -> datetime | None:
    if isinstance(node, a.TimestampLit):
        return node.value.replace(tzinfo=None)
    if isinstance(node, a.DateLit):
        return datetime(node.value.year, node.value.month, node.value.day)
    return None


def moved(value: datetime, seconds: int = 0, months: int = 0) -> datetime | None:
    """``value`` moved by ``seconds`` and ``months``; None when it leaves the years 1-9999."""
    try:
        if months:
            index = value.year * 12 + value.month - 1 + months
            year, month = divmod(index, 12)
            value = value.replace(year=year, month=month + 1, day=min(value.day, 28))
        return value + timedelta(seconds=seconds)
    except (OverflowError, ValueError):
        return None
