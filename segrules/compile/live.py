"""``now`` as the engine's own clock (``segrules compile --now live``): the database's current
timestamp as a wall-clock time in the spec's time zone, an Ibis expression, so that the SQL can
be a view or a dbt model that is right whenever it is queried.

``timezone(zone, now())`` is the same function on DuckDB and PostgreSQL: ``now()`` is the start
of the current transaction (a ``timestamptz``, the same value everywhere in one statement), and
``timezone`` turns it into the naive wall-clock time of ``zone``, which is what the rules compare
time columns with (naive, in the spec's time zone; see docs/language.md). Spark has neither:
``convert_timezone(zone, current_timestamp())`` (one value per query, like ``now()``)."""

from __future__ import annotations

from typing import Callable

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from ..errors import CompileError

UTC_TIMESTAMP = dt.Timestamp(timezone="UTC")


def _now_signature() -> UTC_TIMESTAMP:  # type: ignore[valid-type]
    """The database's ``now()``: the start of the current transaction, with a time zone."""


def _timezone_signature(zone: str, instant: UTC_TIMESTAMP) -> dt.timestamp:  # type: ignore[valid-type]
    """The database's ``timezone(zone, instant)``: the naive wall-clock time in ``zone``."""


# Ibis "builtin" scalar UDFs: calls of the database's own functions, typed by the signatures above
_transaction_start: Callable[[], ir.TimestampValue] = ibis.udf.scalar.builtin(_now_signature, name="now")
_wall_clock: Callable[[ir.StringValue, ir.TimestampValue], ir.TimestampValue] = ibis.udf.scalar.builtin(
    _timezone_signature, name="timezone")


def _timezone_now(zone: str) -> ir.TimestampValue:
    return _wall_clock(ibis.literal(zone), _transaction_start())


def _spark_current_timestamp_signature() -> UTC_TIMESTAMP:  # type: ignore[valid-type]
    """Spark's ``current_timestamp()``: the query's start, an instant (one value per query)."""


def _spark_convert_timezone_signature(zone: str, instant: UTC_TIMESTAMP) -> dt.timestamp:  # type: ignore[valid-type]
    """Spark's ``convert_timezone(zone, instant)``: the naive wall-clock time in ``zone``."""


_spark_query_start: Callable[[], ir.TimestampValue] = ibis.udf.scalar.builtin(
    _spark_current_timestamp_signature, name="current_timestamp")
_spark_convert: Callable[[ir.StringValue, ir.TimestampValue], ir.TimestampValue] = ibis.udf.scalar.builtin(
    _spark_convert_timezone_signature, name="convert_timezone")


def _spark_now(zone: str) -> ir.TimestampValue:
    # the wall-clock time in ``zone`` whatever the session's time zone (Ibis sets UTC; a view read
    # by a session in another zone gives the same value)
    return _spark_convert(ibis.literal(zone), _spark_query_start())


# dialect -> the engine's current wall-clock time in a zone. One row per engine.
LIVE_NOW: dict[str, Callable[[str], ir.TimestampValue]] = {
    "duckdb": _timezone_now,
    "postgres": _timezone_now,
    "spark": _spark_now,
    "pyspark": _spark_now,
}


def live_now(zone: str, dialect: str) -> ir.TimestampValue:
    """The engine's current time in ``zone`` as an Ibis expression for ``dialect``; SR113 for a
    dialect without one."""
    build = LIVE_NOW.get(dialect)
    if build is None:
        raise CompileError(f"--now live: no current-time expression for the {dialect} dialect", code="SR113",
                           hint=f"dialects with one: {', '.join(LIVE_NOW)}; or compile with a fixed time "
                           "(--as-of, the default: now, as a literal)")
    return build(zone)
