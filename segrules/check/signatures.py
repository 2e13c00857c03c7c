"""Signatures of the built-in scalar functions: argument checks and result types.

Each entry takes the argument types and nodes and returns the result type, or a string that
explains what is wrong.  The compile stage has the matching translation table.
"""

from __future__ import annotations

from typing import Callable

import ibis.expr.datatypes as dt
import re2

from ..lang import ast as a
from .ranges import MAX_ROUND_DIGITS
from .types import common_type, describe, is_numeric, is_temporal

Sig = Callable[[list[dt.DataType], list[a.Node]], "dt.DataType | str"]

DATE_TRUNC_UNITS = ("year", "quarter", "month", "week", "day", "hour", "minute")


def _arity(n: int | tuple[int, int]):
    lo, hi = (n, n) if isinstance(n, int) else n

    def check(types):
        if not lo <= len(types) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}" if hi < 99 else f"at least {lo}"
            return f"takes {want} argument{'s' if hi != 1 else ''}, got {len(types)}"
        return None
    return check


def _fixed(arity: int, arg_kind: str, result: dt.DataType | None) -> Sig:
    test = {"string": lambda t: t.is_string(), "numeric": is_numeric, "temporal": is_temporal}[arg_kind]

    def sig(types, nodes):
        err = _arity(arity)(types)
        if err:
            return err
        for i, t in enumerate(types):
            if not (t.is_null() or test(t)):
                return f"argument {i + 1} must be {arg_kind}, got {describe(t)}"
        return result if result is not None else types[0]
    return sig


def _variadic(types, nodes):
    err = _arity((1, 99))(types)
    if err:
        return err
    common = common_type(types)
    if common is None:
        return "arguments must have compatible types, got " + ", ".join(describe(t) for t in types)
    return common


def _round(types, nodes):
    err = _arity((1, 2))(types)
    if err:
        return err
    if not (types[0].is_null() or is_numeric(types[0])):
        return f"argument 1 must be numeric, got {describe(types[0])}"
    if len(nodes) == 2 and not (isinstance(nodes[1], a.Number) and isinstance(nodes[1].value, int)):
        return "argument 2 (digits) must be a whole number literal"
    if len(nodes) == 2 and nodes[1].value > MAX_ROUND_DIGITS:
        return f"argument 2 (digits) is at most {MAX_ROUND_DIGITS}, got {nodes[1].value}"
    return dt.float64 if not types[0].is_decimal() else types[0]


def _matches(types, nodes):
    result = _fixed(2, "string", dt.boolean)(types, nodes)
    if isinstance(result, str):
        return result
    if isinstance(nodes[1], a.String):
        problem = re2_problem(nodes[1].value)
        if problem:
            return f"invalid regular expression for RE2 (the syntax DuckDB runs): {problem}"
    return result


_RE2_QUIET = re2.Options()
_RE2_QUIET.log_errors = False  # the reason is reported as a diagnostic, not logged to stderr


def re2_problem(pattern: str) -> str | None:
    """Why RE2 rejects ``pattern`` (e.g. lookarounds, backreferences), or None when it compiles.
    RE2 is DuckDB's engine and the common subset of the warehouses' regex dialects."""
    try:
        re2.compile(pattern, _RE2_QUIET)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return None


def _since(types, nodes):
    return _fixed(1, "temporal", dt.int64)(types, nodes)


def _date_trunc(types, nodes):
    err = _arity(2)(types)
    if err:
        return err
    if not isinstance(nodes[0], a.String) or nodes[0].value not in DATE_TRUNC_UNITS:
        return "argument 1 must be one of " + ", ".join(repr(u) for u in DATE_TRUNC_UNITS)
    if not (types[1].is_null() or is_temporal(types[1])):
        return f"argument 2 must be a date or timestamp, got {describe(types[1])}"
    if types[1].is_date() and nodes[0].value in ("hour", "minute"):
        return dt.timestamp
    return types[1] if not types[1].is_null() else dt.timestamp


def _start_of(types, nodes):
    """``start_of_month(t)`` and friends: ``date_trunc('month', t)``, a date stays a date."""
    return _fixed(1, "temporal", None)(types, nodes) if types and not types[0].is_null() else (
        _arity(1)(types) or dt.timestamp)


START_OF_UNITS = ("day", "week", "month", "quarter", "year")

BUILTINS: dict[str, Sig] = {
    "lower": _fixed(1, "string", dt.string),
    "upper": _fixed(1, "string", dt.string),
    "trim": _fixed(1, "string", dt.string),
    "length": _fixed(1, "string", dt.int64),
    "contains": _fixed(2, "string", dt.boolean),
    "starts_with": _fixed(2, "string", dt.boolean),
    "ends_with": _fixed(2, "string", dt.boolean),
    "matches": _matches,
    "coalesce": _variadic,
    "least": _variadic,
    "greatest": _variadic,
    "abs": _fixed(1, "numeric", None),
    "round": _round,
    "days_since": _since,
    "hours_since": _since,
    "date_trunc": _date_trunc,
    **{f"start_of_{unit}": _start_of for unit in START_OF_UNITS},
}
