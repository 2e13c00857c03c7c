"""Per-backend translations, where a backend has a faster built-in than the portable Ibis op.

The plan stays one Ibis expression: a translation here is an Ibis op for a function the backend
has (``ibis.udf.agg.builtin``), chosen by the name of the target backend: the connection's
backend, or the ``--dialect`` of ``segrules compile``.  Without a target (``Spec.compile()``
without a connection), and on every other backend, the plan uses the portable ops, which each
Ibis backend translates itself.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Callable

import ibis
import ibis.expr.datatypes as dt

if TYPE_CHECKING:
    import ibis.expr.types as ir

# backend name -> aggregate of the language -> built-in aggregate (value, ordering key).
# DuckDB: Ibis renders ArgMin/ArgMax as FIRST(x ORDER BY t), an ordered aggregate that sorts
# every group; arg_min/arg_max keep one running value (about 0.5 s per aggregate at 20M rows).
# The same result here: the plan filters out null values, and source times are never null
# (rows are kept only where time <= now).
BY_TIME = {"duckdb": {"first": "arg_min", "last": "arg_max"}}


def by_time(backend: str | None, func: str, value_type: dt.DataType,
            time_type: dt.DataType) -> Callable[..., ir.Value] | None:
    """The backend's built-in for ``first``/``last`` by time, or ``None`` to use the portable op."""
    name = BY_TIME.get(backend or "", {}).get(func)
    return None if name is None else _builtin(name, value_type, time_type)


@functools.lru_cache(maxsize=None)
def _builtin(name: str, value_type: dt.DataType, time_type: dt.DataType) -> Callable[..., ir.Value]:
    def fn(value: ir.Value, time: ir.Value) -> ir.Value:  # the signature of the built-in; Ibis never calls it
        ...

    fn.__name__ = name
    aggregate: Callable[..., ir.Value] = ibis.udf.agg.builtin(
        fn, name=name, signature=((value_type, time_type), value_type))
    return aggregate



# backends that read '0x…' text as an integer in a cast
HEX_CASTS = frozenset({"duckdb"})


def hex_to_int(backend: str | None, text: ir.StringValue, count: int) -> ir.IntegerValue:
    """The integer value of the first ``count`` (at most 15) characters of ``text``, an Ibis string
    of lowercase hex digits: a cast where the backend reads hex text, else arithmetic on each
    digit's ``ascii()`` code, which every backend translates the same way."""
    if backend in HEX_CASTS:
        return (ibis.literal("0x") + text.substr(0, count)).cast(dt.int64)
    value: ir.IntegerValue | None = None
    for i in range(count):
        code = text.substr(i, 1).ascii_str().cast(dt.int64)
        digit = ibis.ifelse(code >= 97, code - 87, code - 48)  # 'a' is 97, '0' is 48
        value = digit if value is None else value * 16 + digit
    return value


@functools.lru_cache(maxsize=None)
def md5_hex() -> Callable[..., ir.StringValue]:
    """``md5(text) → 32 lowercase hex digits``, the database's own function: DuckDB, PostgreSQL,
    Snowflake, MySQL and Spark name it ``md5`` (Ibis's ``hexdigest`` has no PostgreSQL rule)."""
    def md5(text: ir.StringValue) -> ir.StringValue:  # the signature of the built-in; Ibis never calls it
        ...

    scalar: Callable[..., ir.StringValue] = ibis.udf.scalar.builtin(md5, name="md5", signature=((dt.string,), dt.string))
    return scalar
