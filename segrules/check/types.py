"""Type helpers over Ibis data types (the type system of the language is Ibis's)."""

from __future__ import annotations

import functools
from datetime import date, datetime

import ibis.expr.datatypes as dt

from ..plugin.categories import TYPE_CATEGORIES

INTERVAL = dt.Interval("s")

_PLAIN = {name: getattr(dt, name) for name in (
    "boolean", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
    "float32", "float64", "decimal", "string", "date", "time", "timestamp", "binary", "uuid", "json", "null")}


@functools.lru_cache(maxsize=None)
def dtype(text: str) -> dt.DataType:
    """``ibis.dtype(text)``.  Plain names (``int64``, ``string`` ...) skip Ibis's type-string
    parser, whose first use in a process builds its grammar: 45 ms of a run's start-up."""
    plain = _PLAIN.get(text)
    return plain if plain is not None else dt.dtype(text)


def is_numeric(t: dt.DataType) -> bool:
    return bool(t.is_numeric()) and not t.is_boolean()


def is_temporal(t: dt.DataType) -> bool:
    return bool(t.is_date() or t.is_timestamp())


def comparable(a: dt.DataType, b: dt.DataType) -> bool:
    """Whether ``a`` and ``b`` can be compared with ``== < in between``."""
    if a.is_null() or b.is_null():
        return True
    return (
        (is_numeric(a) and is_numeric(b))
        or (a.is_string() and b.is_string())
        or (is_temporal(a) and is_temporal(b))
        or (a.is_boolean() and b.is_boolean())
        or (a.is_interval() and b.is_interval())
        or type(a) is type(b)
    )


def common_type(types: list[dt.DataType]) -> dt.DataType | None:
    """The type several values share (``coalesce``, ``least``...), or None if they do not fit."""
    known = [t for t in types if not t.is_null()]
    if not known:
        return dt.null
    if all(is_numeric(t) for t in known):
        if any(t.is_floating() for t in known):
            return dt.float64
        if any(t.is_decimal() for t in known):
            return next(t for t in known if t.is_decimal())
        return dt.int64
    if all(is_temporal(t) for t in known):
        return dt.timestamp if any(t.is_timestamp() for t in known) else dt.date
    first = known[0]
    if all(comparable(first, t) for t in known):
        return first.copy(nullable=True)
    return None


def matches_category(t: dt.DataType, category: str) -> bool:
    """Whether ``t`` fits an argument category of a function signature (or an Ibis type name)."""
    if t.is_null() or category == "any":
        return True
    if category in TYPE_CATEGORIES:
        fits: dict[str, bool] = {
            "numeric": is_numeric(t),
            "integer": t.is_integer(),
            "string": t.is_string(),
            "boolean": t.is_boolean(),
            "date": t.is_date(),
            "timestamp": t.is_timestamp(),
            "temporal": is_temporal(t),
        }
        return fits[category]
    return comparable(t, dtype(category))


def type_of_value(value: object) -> dt.DataType:
    """The type of a parameter value from YAML or the command line."""
    if isinstance(value, bool):
        return dt.boolean
    if isinstance(value, int):
        return dt.int64
    if isinstance(value, float):
        return dt.float64
    if isinstance(value, datetime):
        return dt.timestamp
    if isinstance(value, date):
        return dt.date
    return dt.string


def describe(t: dt.DataType) -> str:
    if t.is_null():
        return "null"
    if t.is_interval():
        return "duration"
    return str(t.copy(nullable=True)).lstrip("!")
