"""Calendar windows (``within this month``, ``within last week``) as conditions on a source's
time column.  Bounds are computed from ``now`` in the database (``date_trunc`` and calendar
interval arithmetic), so a plan compiled once with ``now`` as a parameter stays correct; ``now``
is wall-clock time in the spec's time zone, so the periods are that zone's calendar."""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt

from ..lang import ast as a

if TYPE_CHECKING:
    import ibis.expr.types as ir

_TRUNC = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
_ONE = {"day": ibis.interval(days=1), "week": ibis.interval(days=7), "month": ibis.interval(months=1),
        "quarter": ibis.interval(months=3), "year": ibis.interval(years=1)}


def period_bounds(window: a.CalendarWindow, now: ir.TimestampValue
                  ) -> tuple[ir.TimestampValue, ir.TimestampValue, bool]:
    """(start, end, end_inclusive) of the period as timestamp expressions."""
    start = now.truncate(_TRUNC[window.unit])
    if window.period == "this":
        return start, now, True
    return (start - _ONE[window.unit]).cast(dt.timestamp), start, False


def calendar_condition(window: a.CalendarWindow, now: ir.TimestampValue, column: ir.Value) -> ir.BooleanValue:
    """``start <= t <= now`` (this) or ``start - 1 unit <= t < start`` (last)."""
    col = column.cast(dt.timestamp) if column.type().is_date() else column
    start, end, inclusive = period_bounds(window, now)
    return (col >= start) & ((col <= end) if inclusive else (col < end))
