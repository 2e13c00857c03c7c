"""The types of the expression language: what the check stage infers and plugins' type rules see.

Small frozen values, so that checking a spec (``segrules validate``) never loads Ibis: a
:class:`DataType` has a ``name`` (``int64``, ``decimal``, ``timestamp``, ``interval`` ...), a
``nullable`` flag, a decimal's ``precision``/``scale``, a timestamp's ``timezone``/``scale`` and
an interval's ``unit``.  Its predicates (``is_numeric()``, ``is_decimal()`` ...) and its text
(``str(t)``: ``decimal(12, 2)``, ``!int64`` when not nullable) are Ibis's, so a type reads the same
in a diagnostic whichever layer made it.

The compile stage turns a type into an Ibis one at one place (``compile/datatypes.to_ibis``);
a schema read from a database comes in through :func:`from_ibis` (no Ibis import: it reads
the Ibis type it is given).  Type names Ibis accepts that this module does not know (``array<int64>``,
``map<string, int64>``) are parsed by Ibis and kept under their Ibis name.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

INTEGERS = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
FLOATS = ("float16", "float32", "float64")
# every name with a meaning of its own here; the others are opaque (compared only with themselves)
NAMES = ("null", "boolean", *INTEGERS, *FLOATS, "decimal", "string", "date", "time", "timestamp", "interval",
         "binary", "uuid", "json")
# Ibis's spellings of the same types (ibis.dtype("double") is float64 ...)
ALIASES = {"bool": "boolean", "int": "int64", "double": "float64", "float": "float64", "halffloat": "float16",
           "str": "string", "varchar": "string", "char": "string", "bytes": "binary", "datetime": "timestamp",
           "uint": "uint64"}


@dataclass(frozen=True)
class DataType:
    """A type of the language.  ``name`` is one of :data:`NAMES`, or an Ibis type string for a
    column type segrules only passes through (``array<int64>``).  ``scale`` is a decimal's digits
    after the point or a timestamp's sub-second digits; ``unit`` an interval's (``'s'``)."""

    name: str
    nullable: bool = True
    precision: int | None = None
    scale: int | None = None
    timezone: str | None = None
    unit: str | None = None

    def __str__(self) -> str:
        return ("" if self.nullable else "!") + self._text()

    def _text(self) -> str:
        if self.name == "decimal" and (self.precision is not None or self.scale is not None):
            if self.scale is None:
                return f"decimal({self.precision})"
            return f"decimal({'_' if self.precision is None else self.precision}, {self.scale})"
        if self.name == "timestamp" and (self.timezone is not None or self.scale is not None):
            parts = ([repr(self.timezone)] if self.timezone is not None else []) + (
                [str(self.scale)] if self.scale is not None else [])
            return f"timestamp({', '.join(parts)})"
        if self.name == "interval":
            return f"interval({self.unit or 's'!r})"
        return self.name

    def copy(self, nullable: bool = True) -> DataType:
        """This type with ``nullable`` set (Ibis's ``DataType.copy``)."""
        return self if nullable == self.nullable else dataclasses.replace(self, nullable=nullable)

    # -- predicates (the Ibis names) --------------------------------------------------------
    def is_null(self) -> bool:
        return self.name == "null"

    def is_boolean(self) -> bool:
        return self.name == "boolean"

    def is_integer(self) -> bool:
        return self.name in INTEGERS

    def is_floating(self) -> bool:
        return self.name in FLOATS

    def is_decimal(self) -> bool:
        return self.name == "decimal"

    def is_numeric(self) -> bool:
        """An integer, floating or decimal type (a boolean is not a number)."""
        return self.is_integer() or self.is_floating() or self.is_decimal()

    def is_string(self) -> bool:
        return self.name == "string"

    def is_date(self) -> bool:
        return self.name == "date"

    def is_time(self) -> bool:
        return self.name == "time"

    def is_timestamp(self) -> bool:
        return self.name == "timestamp"

    def is_interval(self) -> bool:
        return self.name == "interval"

    def is_uuid(self) -> bool:
        return self.name == "uuid"

    def is_binary(self) -> bool:
        return self.name == "binary"

    def is_json(self) -> bool:
        return self.name == "json"


null = DataType("null")
boolean = DataType("boolean")
int8, int16, int32, int64 = (DataType(n) for n in INTEGERS[:4])
float32, float64 = DataType("float32"), DataType("float64")
decimal = DataType("decimal")
string = DataType("string")
date = DataType("date")
time = DataType("time")
timestamp = DataType("timestamp")
interval = DataType("interval", unit="s")  # a duration: `30d`, `time_between(...)`
uuid = DataType("uuid")


class Schema(Mapping[str, DataType]):
    """The columns of a table, in order: name -> :class:`DataType` (a read-only mapping with
    Ibis's ``names`` and ``types``)."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, DataType] | None = None) -> None:
        self._fields: dict[str, DataType] = dict(fields or {})

    def __getitem__(self, name: str) -> DataType:
        return self._fields[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and list(self._fields.items()) == list(other._fields.items())

    def __hash__(self) -> int:
        return hash(tuple(self._fields.items()))

    def __repr__(self) -> str:
        return f"Schema({self._fields!r})"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._fields)

    @property
    def types(self) -> tuple[DataType, ...]:
        return tuple(self._fields.values())


_DECIMAL = re.compile(r"decimal\s*\(\s*(\d+)\s*,\s*(\d+)\s*\)")
_TIMESTAMP = re.compile(r"timestamp\s*\(\s*(?:(['\"])([^'\"]+)\1\s*)?(?:,?\s*(\d+)\s*)?\)")
_INTERVAL = re.compile(r"interval\s*\(\s*(['\"])(\w+)\1\s*\)", re.IGNORECASE)  # 'M' months, 'm' minutes


class UnknownType(ValueError):
    """A type name neither segrules nor Ibis knows."""


@functools.lru_cache(maxsize=None)
def parse_type(text: str) -> DataType:
    """The type named ``text`` (a ``schema:`` block's value, a plugin's type string), as Ibis
    reads it: ``int64``, ``!string`` (not nullable), ``decimal(12,2)``, ``timestamp('UTC')``,
    ``timestamp(6)``, Ibis's aliases (``double``, ``int``, ``bool`` ...).  Other names go to Ibis's
    own parser (loading Ibis); raises :class:`UnknownType` when Ibis does not know them either."""
    stripped = text.strip()
    nullable = not stripped.startswith("!")
    body = stripped.lstrip("!").strip()
    lowered = body.lower()
    name = ALIASES.get(lowered, lowered)
    if name in NAMES and name != "interval":
        return DataType(name, nullable)
    found = _DECIMAL.fullmatch(lowered)
    if found:
        return DataType("decimal", nullable, int(found[1]), int(found[2]))
    found = _TIMESTAMP.fullmatch(body)
    if found and (found[2] is not None or found[3] is not None):
        return DataType("timestamp", nullable, scale=None if found[3] is None else int(found[3]), timezone=found[2])
    found = _INTERVAL.fullmatch(body)
    if found:
        return DataType("interval", nullable, unit=found[2])
    return _parse_with_ibis(text)


def _parse_with_ibis(text: str) -> DataType:
    """A type name only Ibis knows (``array<int64>``), read by Ibis: it loads Ibis."""
    import ibis.expr.datatypes as dt

    try:
        return from_ibis(dt.dtype(text))
    except Exception as exc:  # Ibis raises several types for unparsable type strings
        raise UnknownType(f"unknown type {text!r}") from exc


# Ibis's DataType class names -> ours (read from the class name: no Ibis import needed)
_FROM_IBIS = {"Null": "null", "Boolean": "boolean", **{n.capitalize(): n for n in INTEGERS if n[0] == "i"},
              **{"UInt" + n[4:]: n for n in INTEGERS if n[0] == "u"}, **{n.capitalize(): n for n in FLOATS},
              "Decimal": "decimal", "String": "string", "Date": "date", "Time": "time", "Timestamp": "timestamp",
              "Interval": "interval", "Binary": "binary", "UUID": "uuid", "JSON": "json"}


def from_ibis(t: Any) -> DataType:
    """The segrules type of the Ibis ``DataType`` ``t`` (a column of a database table).  A type
    segrules has no name of its own for keeps its Ibis text (``array<int64>``)."""
    if isinstance(t, DataType):
        return t
    name = _FROM_IBIS.get(type(t).__name__)
    nullable = bool(t.nullable)
    if name == "decimal":
        return DataType(name, nullable, t.precision, t.scale)
    if name == "timestamp":
        return DataType(name, nullable, scale=t.scale, timezone=t.timezone)
    if name == "interval":
        return DataType(name, nullable, unit=str(t.unit.value))
    if name is not None:
        return DataType(name, nullable)
    return DataType(str(t.copy(nullable=True)), nullable)


def as_schema(columns: Mapping[str, Any]) -> Schema:
    """``columns`` (a :class:`Schema`, an Ibis schema or a mapping of names to either kind of
    type) as a :class:`Schema`."""
    if isinstance(columns, Schema):
        return columns
    return Schema({name: from_ibis(t) for name, t in columns.items()})
