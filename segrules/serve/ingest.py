"""Ingested rows checked against a source table's schema, all or nothing.

A batch is a list of JSON objects, one per row. Every row is checked before anything is
written; any problem rejects the whole batch with every problem found, each naming the row
(0-based index in the batch) and the field.  Accepted rows become an Arrow table with exactly
the table's columns and types (missing fields are null), ready for one Ibis insert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import ibis.expr.datatypes as dt
import pyarrow as pa

from ..diagnostics import Diagnostic, Severity
from ..errors import SpecError

INT_RANGES = {8: 2**7, 16: 2**15, 32: 2**31, 64: 2**63}
MAX_ROWS = 100_000  # one batch; larger loads belong in the database's own bulk path


@dataclass(frozen=True)
class RowProblem:
    row: int | None  # None: the batch itself
    field: str | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


class RowsRejected(SpecError):
    """A batch with bad rows (SR902): nothing of it was written. ``problems``: every one found."""

    def __init__(self, source: str, problems: list[RowProblem]):
        self.source, self.problems = source, problems
        diags = [Diagnostic("SR902", f"{source}: row {p.row}, field {p.field!r}: {p.message}"
                            if p.row is not None else f"{source}: {p.message}", severity=Severity.ERROR)
                 for p in problems]
        super().__init__(diagnostics=diags)


class _Bad(ValueError):
    pass


def _value(raw: Any, dtype: dt.DataType, zone: str) -> Any:
    """``raw`` (a JSON value) as a Python value of ``dtype``; _Bad says why not."""
    if dtype.is_boolean():
        if isinstance(raw, bool):
            return raw
        raise _Bad("expected true or false")
    if dtype.is_integer():
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _Bad(f"expected an integer ({dtype})")
        bound = INT_RANGES[dtype.nbytes * 8]
        low, high = (0, 2 * bound) if not dtype.is_signed_integer() else (-bound, bound)
        if not low <= raw < high:
            raise _Bad(f"{raw} is out of the range of {dtype}")
        return raw
    if dtype.is_floating():
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise _Bad(f"expected a number ({dtype})")
        return float(raw)
    if dtype.is_decimal():
        return _decimal(raw, dtype)
    if dtype.is_string():
        if not isinstance(raw, str):
            raise _Bad("expected a string")
        if "\0" in raw:
            raise _Bad("contains the NUL character, which PostgreSQL text cannot hold")
        return raw
    if dtype.is_timestamp():
        return _timestamp(raw, zone, aware=dtype.timezone is not None)
    if dtype.is_date():
        if not isinstance(raw, str):
            raise _Bad("expected a date (2026-01-31)")
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise _Bad(f"{raw!r} is not a date (2026-01-31)") from None
    raise _Bad(f"columns of type {dtype} cannot be ingested")


def _decimal(raw: Any, dtype: dt.Decimal) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise _Bad(f"expected a number ({dtype})")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise _Bad(f"{raw!r} is not a number") from None
    if not value.is_finite():
        raise _Bad(f"{raw!r} is not a finite number")
    scale = dtype.scale if dtype.scale is not None else 0
    precision = dtype.precision if dtype.precision is not None else 38
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > scale:
        raise _Bad(f"{raw} has more than {scale} digits after the point ({dtype})")
    if abs(value) >= Decimal(10) ** (precision - scale):
        raise _Bad(f"{raw} does not fit {dtype}")
    return value


def _timestamp(raw: Any, zone: str, aware: bool = False) -> datetime:
    """A naive wall-clock time in the spec's time zone (a time with an offset is converted); for
    a column with a time zone (``aware``), the instant itself (a time without offset is read in
    the spec's time zone)."""
    if not isinstance(raw, str):
        raise _Bad("expected a timestamp (2026-01-31T10:00:00, optionally with an offset)")
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _Bad(f"{raw!r} is not a timestamp (2026-01-31T10:00:00)") from None
    if aware:
        return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(zone))
    if value.tzinfo is not None:
        value = value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    return value


def check_rows(source: str, rows: Any, schema: Any, required: tuple[str, ...], zone: str) -> pa.Table:
    """``rows`` as an Arrow table of ``schema`` (an Ibis schema), or :class:`RowsRejected` with
    every problem. ``required``: columns that may not be null (the key)."""
    if not isinstance(rows, list):
        raise RowsRejected(source, [RowProblem(None, None, "expected a JSON array of row objects")])
    if len(rows) > MAX_ROWS:
        raise RowsRejected(source, [RowProblem(None, None, f"{len(rows)} rows: at most {MAX_ROWS} per batch")])
    problems: list[RowProblem] = []
    columns: dict[str, list[Any]] = {name: [] for name in schema.names}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(RowProblem(i, None, "expected an object of column: value"))
            continue
        for name in row:
            if name not in columns:
                problems.append(RowProblem(i, name, f"no such column in {source} (columns: "
                                           f"{', '.join(schema.names)})"))
        for name, dtype in schema.items():
            raw = row.get(name)
            if raw is None:
                if name in required or not dtype.nullable:
                    problems.append(RowProblem(i, name, "is required"))
                columns[name].append(None)
                continue
            try:
                columns[name].append(_value(raw, dtype, zone))
            except _Bad as exc:
                problems.append(RowProblem(i, name, str(exc)))
                columns[name].append(None)
    if problems:
        raise RowsRejected(source, problems)
    return pa.table(columns, schema=schema.to_pyarrow())
