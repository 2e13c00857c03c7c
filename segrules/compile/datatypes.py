"""The one crossing from segrules' types (``segrules.types``, what the check stage infers) to
Ibis's: the compile stage calls :func:`to_ibis` wherever a checked type becomes part of an Ibis
expression (a cast, a typed null, a literal)."""

from __future__ import annotations

import functools
from typing import Mapping

import ibis
import ibis.expr.datatypes as dt

from ..types import DataType, parse_type

_PLAIN: dict[str, dt.DataType] = {name: getattr(dt, name) for name in (
    "null", "boolean", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
    "float32", "float64", "string", "date", "time", "binary", "uuid", "json")}


@functools.lru_cache(maxsize=None)
def to_ibis(t: DataType | dt.DataType) -> dt.DataType:
    """The Ibis type of ``t`` (an Ibis type is returned as it is)."""
    if not isinstance(t, DataType):
        return t
    plain = _PLAIN.get(t.name)
    if plain is not None:
        return plain.copy(nullable=t.nullable)
    if t.name == "decimal":
        return dt.Decimal(t.precision, t.scale, nullable=t.nullable)
    if t.name == "timestamp":
        return dt.Timestamp(timezone=t.timezone, scale=t.scale, nullable=t.nullable)
    if t.name == "interval":
        return dt.Interval(t.unit or "s", nullable=t.nullable)
    return dt.dtype(t.name).copy(nullable=t.nullable)  # a type segrules only passes through


def ibis_dtype(text: str) -> dt.DataType:
    """The Ibis type named ``text`` (a plugin's type string: ``ValueField.dtype``)."""
    return to_ibis(parse_type(text))


def to_ibis_schema(columns: Mapping[str, DataType | dt.DataType]) -> ibis.Schema:
    """A checked table schema (``CheckedSpec.schemas[table]``) as an Ibis schema."""
    return ibis.schema({name: to_ibis(t) for name, t in columns.items()})
