"""Fixture tables of a test file: their column types and their rows as Arrow tables.

Types come from the test file's ``schema:`` block, then the spec's ``schema:`` block (which lists
every column of its tables), then are inferred from the values of every case in the file (so
each table has one schema per file).
Columns missing from a row are null; a table missing from a case is empty.  Timestamps with an
offset are converted to the spec's time zone; those without are read in it.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from ..diagnostics import Diagnostic
from .loader import SpecTestDocument
from .usage import usage_types

# Python value type -> inferred column type, and which inferred types widen to which.
_INFER = {bool: "boolean", int: "int64", float: "float64", str: "string", datetime: "timestamp", date: "date"}
_WIDEN = {frozenset({"int64", "float64"}): "float64", frozenset({"date", "timestamp"}): "timestamp"}


class FixtureProblem(ValueError):
    """A value that does not fit its column; the message is for the user."""


def _declared(doc: SpecTestDocument, spec) -> tuple[dict[str, dict[str, dt.DataType]], list[Diagnostic]]:
    declared: dict[str, dict[str, dt.DataType]] = {}
    diags = []
    blocks = [(spec.model.schema_ or {}, spec.document.index, ("schema",)),
              (doc.model.schema_ or {}, doc.index, ("schema",))]
    for block, index, root in blocks:
        for table, columns in block.items():
            for column, type_text in columns.items():
                try:
                    declared.setdefault(table, {})[column] = dt.dtype(type_text)
                except Exception:  # ibis raises several types for unparsable type strings
                    diags.append(Diagnostic("SR410", f"unknown type {type_text!r} for {table}.{column}",
                                            index.value_span(root + (table, column))))
    return declared, diags


def _yaml11_word(value: Any, raw: str | None) -> bool:
    """YAML 1.1 reads ``NO``, ``yes``, ``off``... as booleans; in a fixture they are words (the
    country code NO), unless the column is declared boolean."""
    return isinstance(value, bool) and raw is not None and raw.lower() not in ("true", "false")


def _infer(value: Any) -> str | None:
    return _INFER.get(type(value))


def fixture_schemas(doc: SpecTestDocument, spec) -> tuple[dict[str, ibis.Schema], list[Diagnostic]]:
    """One schema per table the spec reads: declared types, then inferred ones."""
    m = spec.model
    tables = [m.entity.table] + [s.table for s in m.sources.values() if s.table != m.entity.table]
    declared, diags = _declared(doc, spec)
    complete = set(m.schema_ or {})  # the spec's schema: block lists every column of its tables
    inferred: dict[str, dict[str, tuple[str, tuple]]] = {}
    for i, case in enumerate(doc.model.cases):
        for table, rows in case.data.items():
            for r, row in enumerate(rows):
                for column, value in row.items():
                    path = ("cases", i, "data", table, r, column)
                    if table in complete and column not in declared[table]:
                        diags.append(Diagnostic(
                            "SR135", f"column {column!r} is not in the spec's schema of {table!r}",
                            doc.index.key_span(path), hint=f"columns: {', '.join(declared[table])}"))
                        continue
                    if column in declared.get(table, {}):
                        continue
                    if value is None:
                        inferred.setdefault(table, {}).setdefault(column, (None, path))
                        continue
                    kind = "string" if _yaml11_word(value, doc.index.raw(path)) else _infer(value)
                    if kind is None:
                        diags.append(Diagnostic("SR136", f"{table}.{column}: unsupported value {value!r}",
                                                doc.index.value_span(path),
                                                hint="use a number, string, boolean, date or timestamp"))
                        continue
                    seen, first = inferred.setdefault(table, {}).get(column, (None, path))
                    if seen is None or seen == kind:
                        inferred[table][column] = (kind, first if seen else path)
                    elif frozenset({seen, kind}) in _WIDEN:
                        inferred[table][column] = (_WIDEN[frozenset({seen, kind})], first)
                    else:
                        diags.append(Diagnostic(
                            "SR136", f"{table}.{column}: {kind} value {value!r}, but other rows hold {seen}",
                            doc.index.value_span(path),
                            hint=f"declare the type under schema: {table}: {{{column}: ...}}"))
    schemas = {}
    used = usage_types(spec)
    for table in tables:
        columns = dict(declared.get(table, {}))
        for column, (kind, _) in inferred.get(table, {}).items():
            columns.setdefault(column, dt.dtype(kind or "string"))
        if table not in complete:  # columns no row shows: typed by how the spec uses them
            for column, dtype in used.get(table, {}).items():
                columns.setdefault(column, dtype)
            key = next((s.key for s in m.sources.values() if s.table == table), None)
            entity_key = schemas.get(m.entity.table, ibis.schema({})).get(m.entity.key) if schemas else None
            if key and entity_key is not None and key not in declared.get(table, {}) \
                    and key not in inferred.get(table, {}):
                columns[key] = entity_key
        if not columns:
            diags.append(Diagnostic("SR137", f"table {table!r} has no rows in any case and no declared schema",
                                    doc.index.key_span(("cases",)),
                                    hint=f"declare its columns under schema: {table}: {{...}} in the test "
                                    "file or the spec"))
            continue
        schemas[table] = ibis.schema(columns)
    return schemas, diags


def convert(value: Any, dtype: dt.DataType, zone: ZoneInfo) -> Any:
    """``value`` as a Python value Arrow accepts for ``dtype``; :class:`FixtureProblem` if it
    does not fit."""
    if value is None:
        return None
    if dtype.is_timestamp():
        if isinstance(value, str):
            value = _parse_time(value)
        if isinstance(value, datetime):
            return value.astimezone(zone).replace(tzinfo=None) if value.tzinfo else value
        if isinstance(value, date):
            return datetime.combine(value, time())
    elif dtype.is_date():
        if isinstance(value, str):
            value = _parse_time(value)
        if isinstance(value, datetime):
            raise FixtureProblem(f"{value!r} is a timestamp, the column is a date")
        if isinstance(value, date):
            return value
    elif dtype.is_boolean():
        if isinstance(value, bool):
            return value
    elif dtype.is_integer():
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif dtype.is_floating():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif dtype.is_decimal():
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                return Decimal(str(value))
            except InvalidOperation:
                pass
    elif dtype.is_string():
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            raise FixtureProblem(f"YAML read this as the boolean {value}; quote it for a string column")
        if isinstance(value, (int, float, date)):
            return str(value)
    else:
        return value
    raise FixtureProblem(f"{value!r} does not fit a column of type {dtype}")


def _parse_time(text: str):
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise FixtureProblem(f"{text!r} is not a date or timestamp") from None


def fixture_tables(doc: SpecTestDocument, case_index: int, schemas: dict[str, ibis.Schema],
                   zone: ZoneInfo) -> tuple[dict[str, pa.Table], list[Diagnostic]]:
    """The Arrow tables of one case (every table of ``schemas``; absent ones empty)."""
    case = doc.model.cases[case_index]
    out, diags = {}, []
    for table, schema in schemas.items():
        columns: dict[str, list] = {name: [] for name in schema.names}
        for r, row in enumerate(case.data.get(table, [])):
            for name in schema.names:
                path = ("cases", case_index, "data", table, r, name)
                value = row.get(name)
                if schema[name].is_string() and _yaml11_word(value, doc.index.raw(path)):
                    value = doc.index.raw(path)
                try:
                    columns[name].append(convert(value, schema[name], zone))
                except FixtureProblem as exc:
                    columns[name].append(None)
                    diags.append(Diagnostic("SR136", f"{table}.{name}: {exc}", doc.index.value_span(path)))
        out[table] = pa.table(columns, schema=schema.to_pyarrow())
    return out, diags
