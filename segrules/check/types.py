"""Type helpers over the language's types (``segrules.types``: no Ibis in the check stage)."""

from __future__ import annotations

from datetime import date, datetime

from .. import types as st
from ..plugin.categories import TYPE_CATEGORIES
from ..types import DataType, parse_type

INTERVAL = st.interval


def dtype(text: str) -> DataType:
    """The type named ``text`` (``int64``, ``decimal(12,2)``; see :func:`segrules.types.parse_type`)."""
    return parse_type(text)


def is_numeric(t: DataType) -> bool:
    return t.is_numeric() and not t.is_boolean()


def is_temporal(t: DataType) -> bool:
    return t.is_date() or t.is_timestamp()


def comparable(a: DataType, b: DataType) -> bool:
    """Whether ``a`` and ``b`` can be compared with ``== < in between``."""
    if a.is_null() or b.is_null():
        return True
    return (
        (is_numeric(a) and is_numeric(b))
        or (a.is_string() and b.is_string())
        or (is_temporal(a) and is_temporal(b))
        or (a.is_boolean() and b.is_boolean())
        or (a.is_interval() and b.is_interval())
        or a.name == b.name
    )


def common_type(types: list[DataType]) -> DataType | None:
    """The type several values share (``coalesce``, ``least``...), or None if they do not fit."""
    known = [t for t in types if not t.is_null()]
    if not known:
        return st.null
    if all(is_numeric(t) for t in known):
        if any(t.is_floating() for t in known):
            return st.float64
        if any(t.is_decimal() for t in known):
            return next(t for t in known if t.is_decimal())
        return st.int64
    if all(is_temporal(t) for t in known):
        return st.timestamp if any(t.is_timestamp() for t in known) else st.date
    first = known[0]
    if all(comparable(first, t) for t in known):
        return first.copy(nullable=True)
    return None


def matches_category(t: DataType, category: str) -> bool:
    """Whether ``t`` fits an argument category of a function signature (or a type name)."""
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


def type_of_value(value: object) -> DataType:
    """The type of a parameter value from YAML or the command line."""
    if isinstance(value, bool):
        return st.boolean
    if isinstance(value, int):
        return st.int64
    if isinstance(value, float):
        return st.float64
    if isinstance(value, datetime):
        return st.timestamp
    if isinstance(value, date):
        return st.date
    return st.string


def describe(t: DataType) -> str:
    if t.is_null():
        return "null"
    if t.is_interval():
        return "duration"
    return str(t.copy(nullable=True)).lstrip("!")
