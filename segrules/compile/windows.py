"""Time windows of aggregates and sequences as conditions on a source's time column.

``within D`` is ``now - D < t <= now`` (``D`` a literal or a duration parameter), ``between T1
and T2`` is ``T1 <= t <= T2``, a calendar window is a period of the spec's calendar
(:mod:`.calendar`).  Rows after ``now`` are already gone (the point-in-time filter), except for
``within next D`` (a model's label only): ``now < t <= now + D``, over rows the plan cut to
``now < t <= now + the longest such D`` (:func:`ahead_horizon`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Protocol

import ibis.expr.datatypes as dt

from ..lang import ast as a
from ..lang.lexicon import duration_param
from .calendar import calendar_condition
from .to_ibis import duration

if TYPE_CHECKING:
    import ibis.expr.types as ir


class WindowCompiler(Protocol):
    """What a window condition needs of the compiler over the source's rows (an ExprCompiler)."""

    @property
    def params(self) -> Mapping[str, object]: ...

    @property
    def now(self) -> ir.TimestampValue: ...

    def compile(self, node: a.Node) -> ir.Value: ...

    def window_start(self, node: a.Duration) -> ir.TimestampValue: ...


def resolve_duration(node: a.Duration | a.Param, params: Mapping[str, object]) -> a.Duration:
    """The duration literal, or the value of the duration parameter, behind ``node``."""
    if isinstance(node, a.Duration):
        return node
    found = duration_param(params.get(node.name))
    if found is None:  # the check stage rejects this (SR416); the plan must not guess
        raise ValueError(f"${node.name} is not a duration: {params.get(node.name)!r}")
    return found


def ahead_horizon(aggs: list[a.Aggregate], params: Mapping[str, object]) -> a.Duration | None:
    """The longest ``within next D`` of ``aggs`` (their rows are read after now), or None."""
    spans = [resolve_duration(agg.window.duration, params) for agg in aggs
             if isinstance(agg.window, a.Within) and agg.window.ahead]
    return max(spans, key=lambda d: d.seconds) if spans else None


def window_condition(window: a.Window | None, compiler: WindowCompiler,
                     time_column: ir.Value) -> ir.BooleanValue | None:
    """The condition ``window`` puts on ``time_column`` (an Ibis column of ``compiler``'s table),
    or None for no window."""
    if isinstance(window, a.Within) and window.ahead:
        span = resolve_duration(window.duration, compiler.params)
        return (time_column > compiler.now) & (time_column <= compiler.now + duration(span))
    if isinstance(window, a.Within):
        return time_column > compiler.window_start(resolve_duration(window.duration, compiler.params))
    if isinstance(window, a.TimeRange):
        start, end = compiler.compile(window.start), compiler.compile(window.end)
        if time_column.type().is_timestamp():
            start = start.cast(dt.timestamp) if start.type().is_date() else start
            end = end.cast(dt.timestamp) if end.type().is_date() else end
        return (time_column >= start) & (time_column <= end)
    if isinstance(window, a.CalendarWindow):
        return calendar_condition(window, compiler.now, time_column)
    return None
