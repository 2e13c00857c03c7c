"""Time functions: ``days_since``, ``hours_since``, ``date_trunc`` and ``start_of_day`` …
``start_of_year`` (``date_trunc`` of the unit: a date stays a date)."""

from __future__ import annotations

from typing import Any, Callable

from ..check.types import describe, is_temporal
from .. import types as st
from ..types import DataType
from ..lang import ast as a
from .base import CallInfo, FunctionDef, Problem, arity

DATE_TRUNC_UNITS = ("year", "quarter", "month", "week", "day", "hour", "minute")
START_OF_UNITS = ("day", "week", "month", "quarter", "year")
TRUNC_CODES = {"year": "Y", "quarter": "Q", "month": "M", "week": "W", "day": "D", "hour": "h", "minute": "m"}

Compile = Callable[[Any, list[Any], list[a.Node]], Any]


def _as_timestamp(x: Any) -> Any:
    import ibis.expr.datatypes as dt  # the compile stage has it loaded; checking does not need it

    return x.cast(dt.timestamp) if x.type().is_date() else x


def _since(seconds: int) -> Compile:
    def compile_(ctx: Any, args: list[Any], nodes: list[a.Node]) -> Any:
        import ibis.expr.datatypes as dt  # the compile stage has it loaded; checking does not need it

        # Exact microseconds, floored: epoch seconds would be rounded to whole seconds first
        # (DuckDB casts EPOCH() to BIGINT by rounding), an off-by-one just below a boundary.
        elapsed_us = ctx.now.delta(_as_timestamp(args[0]), unit="microsecond")
        return (elapsed_us / (seconds * 1_000_000)).floor().cast(dt.int64)
    return compile_


def _check_date_trunc(info: CallInfo) -> DataType | Problem:
    problem = arity(info, 2)
    if problem is not None:
        return problem
    unit, t = info.args[0], info.types[1]
    if not isinstance(unit, a.String) or unit.value not in DATE_TRUNC_UNITS:
        return info.problem("argument 1 must be one of " + ", ".join(repr(u) for u in DATE_TRUNC_UNITS))
    if not (t.is_null() or is_temporal(t)):
        return info.problem(f"argument 2 must be a date or timestamp, got {describe(t)}")
    if t.is_date() and unit.value in ("hour", "minute"):
        return st.timestamp
    return t if not t.is_null() else st.timestamp


def _date_trunc(ctx: Any, args: list[Any], nodes: list[a.Node]) -> Any:
    import ibis  # the compile stage has it loaded; checking does not need it
    import ibis.expr.datatypes as dt

    unit = TRUNC_CODES[nodes[0].value]  # type: ignore[attr-defined]  # a String: the rule
    x = args[1]
    if x.type().is_date() and unit in ("h", "m"):
        x = x.cast(dt.timestamp)
    # The explicit null guard changes nothing on a correct backend, but stops DuckDB < 2.0 from
    # folding `date_trunc(u, NULL) <> constant` to TRUE (its DateTruncSimplificationRule).
    return ibis.ifelse(x.isnull(), ibis.null(x.type()), x.truncate(unit))


def _start_of_type(types: list[DataType]) -> DataType:
    """``start_of_month(t)`` and friends: ``date_trunc('month', t)``, a date stays a date."""
    return types[0] if not types[0].is_null() else st.timestamp


def _start_of(unit: str) -> Compile:
    def compile_(ctx: Any, args: list[Any], nodes: list[a.Node]) -> Any:
        import ibis  # the compile stage has it loaded; checking does not need it

        x = args[0]
        return ibis.ifelse(x.isnull(), ibis.null(x.type()), x.truncate(TRUNC_CODES[unit]))
    return compile_


FUNCTIONS = (
    FunctionDef("days_since", ("temporal",), "int64", _since(86400), "whole days from t to now, rounded down",
                context=True, null_in_null_out=True, signature="days_since(t: date or timestamp) → int64"),
    FunctionDef("hours_since", ("temporal",), "int64", _since(3600), "whole hours from t to now, rounded down",
                context=True, null_in_null_out=True, signature="hours_since(t: date or timestamp) → int64"),
    FunctionDef("date_trunc", compile=_date_trunc, doc="t truncated to the start of its unit", rule=_check_date_trunc,
                context=True, null_in_null_out=True,
                signature="date_trunc(unit: string literal, t: date or timestamp) → type of t"),
    *(FunctionDef(f"start_of_{unit}", ("temporal",), _start_of_type, _start_of(unit), f"date_trunc('{unit}', t)",
                  context=True, null_in_null_out=True, signature=f"start_of_{unit}(t: date or timestamp) → type of t")
      for unit in START_OF_UNITS),
)
