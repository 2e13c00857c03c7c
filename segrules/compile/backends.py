"""Per-backend translations, where a backend has a faster built-in than the portable Ibis op.

The plan stays one Ibis expression: a translation here is an Ibis op for a function the backend
has (``ibis.udf.agg.builtin``), chosen by the name of the target backend: the connection's
backend, or the ``--dialect`` of ``segrules compile``.  Without a target (``Spec.compile()``
without a connection), and on every other backend, the plan uses the portable ops, which each
Ibis backend translates itself.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import ibis
import ibis.expr.datatypes as dt

# backend name -> aggregate of the language -> built-in aggregate (value, ordering key).
# DuckDB: Ibis renders ArgMin/ArgMax as FIRST(x ORDER BY t), an ordered aggregate that sorts
# every group; arg_min/arg_max keep one running value (about 0.5 s per aggregate at 20M rows).
# The same result here: the plan filters out null values, and source times are never null
# (rows are kept only where time <= now).
BY_TIME = {"duckdb": {"first": "arg_min", "last": "arg_max"}}


def by_time(backend: str | None, func: str, value_type: dt.DataType,
            time_type: dt.DataType) -> Callable[..., Any] | None:
    """The backend's built-in for ``first``/``last`` by time, or ``None`` to use the portable op."""
    name = BY_TIME.get(backend or "", {}).get(func)
    return None if name is None else _builtin(name, value_type, time_type)


@functools.lru_cache(maxsize=None)
def _builtin(name: str, value_type: dt.DataType, time_type: dt.DataType):
    def fn(value, time):  # the signature of the built-in; Ibis never calls it
        ...

    fn.__name__ = name
    return ibis.udf.agg.builtin(fn, name=name, signature=((value_type, time_type), value_type))
