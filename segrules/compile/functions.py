"""Translation table for the built-in scalar functions (signatures live in check/signatures)."""

from __future__ import annotations

from typing import Callable

import ibis
import ibis.expr.datatypes as dt


TRUNC_CODES = {"year": "Y", "quarter": "Q", "month": "M", "week": "W", "day": "D", "hour": "h", "minute": "m"}


def _as_timestamp(x):
    return x.cast(dt.timestamp) if x.type().is_date() else x


def _since(seconds: int) -> Callable:
    def compile_(ctx, args, nodes):
        # Exact microseconds, floored: epoch seconds would be rounded to whole seconds first
        # (DuckDB casts EPOCH() to BIGINT by rounding), an off-by-one just below a boundary.
        elapsed_us = ctx.now.delta(_as_timestamp(args[0]), unit="microsecond")
        return (elapsed_us / (seconds * 1_000_000)).floor().cast(dt.int64)
    return compile_


def _round(ctx, args, nodes):
    digits = nodes[1].value if len(nodes) > 1 else 0
    t = args[0].type()
    if t.is_decimal() and t.scale is not None:
        # A decimal has no digits beyond its scale: rounding to more is rounding to the scale
        # (exactly), and Ibis would give the result the scale `digits`, beyond its precision.
        digits = min(digits, t.scale)
    return args[0].round(digits).cast(ctx.type_of_call)


def _date_trunc(ctx, args, nodes):
    unit = TRUNC_CODES[nodes[0].value]
    x = args[1]
    if x.type().is_date() and unit in ("h", "m"):
        x = x.cast(dt.timestamp)
    # The explicit null guard changes nothing on a correct backend, but stops DuckDB < 2.0 from
    # folding `date_trunc(u, NULL) <> constant` to TRUE (its DateTruncSimplificationRule).
    return ibis.ifelse(x.isnull(), ibis.null(x.type()), x.truncate(unit))


def _start_of(unit: str) -> Callable:
    def compile_(ctx, args, nodes):
        x = args[0]
        return ibis.ifelse(x.isnull(), ibis.null(x.type()), x.truncate(TRUNC_CODES[unit]))
    return compile_


def _common(fn):
    def compile_(ctx, args, nodes):
        return fn(*[arg.cast(ctx.type_of_call) for arg in args])
    return compile_


# Each entry: (ctx, compiled args, arg nodes) -> Ibis expression.  ctx has .now and .type_of_call.
SCALARS: dict[str, Callable] = {
    "lower": lambda ctx, args, nodes: args[0].lower(),
    "upper": lambda ctx, args, nodes: args[0].upper(),
    "trim": lambda ctx, args, nodes: args[0].strip(),
    "length": lambda ctx, args, nodes: args[0].length().cast(dt.int64),
    "contains": lambda ctx, args, nodes: args[0].contains(args[1]),
    "starts_with": lambda ctx, args, nodes: args[0].startswith(args[1]),
    "ends_with": lambda ctx, args, nodes: args[0].endswith(args[1]),
    "matches": lambda ctx, args, nodes: args[0].re_search(args[1]),
    "coalesce": _common(ibis.coalesce),
    "least": _common(ibis.least),
    "greatest": _common(ibis.greatest),
    "abs": lambda ctx, args, nodes: args[0].abs(),
    "round": _round,
    "days_since": _since(86400),
    "hours_since": _since(3600),
    "date_trunc": _date_trunc,
    **{f"start_of_{unit}": _start_of(unit) for unit in ("day", "week", "month", "quarter", "year")},
}

