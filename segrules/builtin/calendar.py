"""Calendar arithmetic: ``add_months(t, n)``, ``days_between(a, b)``, ``hours_between(a, b)``.

Times are wall-clock times (the spec's ``timezone:``), a date is midnight at its start.
"""

from __future__ import annotations

from ..check.types import describe, is_temporal
from ..check import ranges
from .. import types as st
from ..lang.unparse import unparse
from .base import FunctionDef, CallInfo, Problem, arity

def _temporal(info: CallInfo, i: int):
    t = info.types[i]
    if not (t.is_null() or is_temporal(t)):
        return info.problem(f"argument {i + 1} must be a date or timestamp, got {describe(t)}")
    return None


def _check_add_months(info: CallInfo):
    problem = arity(info, 2) or _temporal(info, 0)
    if problem:
        return problem
    if not (info.types[1].is_null() or info.types[1].is_integer()):
        return info.problem(f"argument 2 (months) must be an integer, got {describe(info.types[1])}",
                            "e.g. add_months(now, -1)")
    months = ranges.constant_int(info.args[1], info.params)
    if months is not None and abs(months) > ranges.MAX_MONTHS:
        return Problem("SR417", f"add_months(): {months} months is more than the {ranges.MAX_MONTHS} "
                       "(1000 years) a time can be moved", info.args[1])
    start = ranges.literal_time(info.args[0])
    if months is not None and start is not None and ranges.moved(start, months=months) is None:
        return Problem("SR418", f"add_months(): {unparse(info.node)[:80]} is outside the years 1 to 9999",
                       info.node, "dates and timestamps run from 0001-01-01 to 9999-12-31")
    return info.types[0] if info.types[0].is_date() else st.timestamp


def _add_months(ctx, args, nodes):
    # DuckDB and PostgreSQL both clamp to the end of the month (Jan 31 + 1 month = Feb 28/29)
    # and keep the time of day; a date + interval is a timestamp there, so cast back.
    import ibis.expr.datatypes as dt  # the compile stage has it loaded; checking does not need it

    t, n = args
    shifted = t + n.cast(dt.int64).as_interval("M")
    return shifted.cast(ctx.type_of_call)


def _check_between(info: CallInfo):
    return arity(info, 2) or _temporal(info, 0) or _temporal(info, 1) or st.int64


def _within_hour(t):
    """Microseconds since the start of ``t``'s hour (a small, exact difference)."""
    return t.delta(t.truncate("h"), unit="microsecond")


def _between(unit: str):
    """Whole days (hours) from a to b, floored, in exact integer steps: the days between the
    two dates, less one when b's time of day is before a's (the same with the hour and the
    microseconds within it).  Dividing a microsecond span instead goes through a double on
    the backends, which rounds spans of more than 2**53 µs (285 years)."""
    def compile_(ctx, args, nodes):
        import ibis  # the compile stage has it loaded; checking does not need it
        import ibis.expr.datatypes as dt

        a, b = (x.cast(dt.timestamp) if x.type().is_date() else x for x in args)
        days = b.date().delta(a.date(), unit="day").cast(dt.int64)
        if unit == "day":
            return days - ibis.ifelse(b.time() < a.time(), 1, 0)
        hours = days * 24 + (b.hour().cast(dt.int64) - a.hour().cast(dt.int64))
        return hours - ibis.ifelse(_within_hour(b) < _within_hour(a), 1, 0)
    return compile_


FUNCTIONS = (
    FunctionDef("add_months", compile=_add_months, rule=_check_add_months, context=True, null_in_null_out=True,
                signature="add_months(t: date or timestamp, n: integer) → type of t",
                doc="t moved by n calendar months, the day clamped to the end of the month"),
    FunctionDef("days_between", compile=_between("day"), rule=_check_between, context=True, null_in_null_out=True,
                signature="days_between(a: date or timestamp, b: date or timestamp) → int64",
                doc="whole days from a to b, rounded down"),
    FunctionDef("hours_between", compile=_between("hour"), rule=_check_between, context=True, null_in_null_out=True,
                signature="hours_between(a: date or timestamp, b: date or timestamp) → int64",
                doc="whole hours from a to b, rounded down"),
)
