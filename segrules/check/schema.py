"""Table schemas: from the connection, or from the spec's offline ``schema:`` block."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Iterable

from ..diagnostics import Diagnostic
from ..errors import BackendError, TypeCheckError
from ..spec import SpecDocument

from ..types import DataType, Schema, UnknownType, as_schema, parse_type

if TYPE_CHECKING:  # a connection's tables are Ibis's; checking the schema: block loads no Ibis
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend


def tables_used(doc: SpecDocument) -> dict[str, tuple[str, ...]]:
    """Table name -> path of the ``table:`` value that names it (for error positions)."""
    out: dict[str, tuple[str, ...]] = {doc.model.entity.table: ("entity", "table")}
    for name, src in doc.model.sources.items():
        out.setdefault(src.table, ("sources", name, "table"))
    return out


def did_you_mean(name: str, options: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(name, list(options), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def schemas_from_block(doc: SpecDocument) -> dict[str, Schema]:
    """Parse the ``schema:`` block. Raises :class:`TypeCheckError` for unknown type names."""
    diags: list[Diagnostic] = []
    out: dict[str, Schema] = {}
    for table, columns in (doc.model.schema_ or {}).items():
        fields: dict[str, DataType] = {}
        for column, type_text in columns.items():
            try:
                fields[column] = parse_type(type_text)
            except UnknownType:
                diags.append(Diagnostic(
                    "SR410", f"unknown type {type_text!r} for {table}.{column}",
                    doc.index.value_span(("schema", table, column)),
                    hint="use an Ibis type: int64, float64, decimal(12,2), string, boolean, date, timestamp"))
        out[table] = Schema(fields)
    if diags:
        raise TypeCheckError(diagnostics=diags)
    return out


def schemas_from_connection(doc: SpecDocument, con: BaseBackend,
                            tables: dict[str, ir.Table] | None = None) -> dict[str, Schema]:
    """Read the schema of every table the spec uses from the database; ``tables`` (if given)
    receives the Ibis tables read, so the plan does not ask the database for them again."""
    try:
        available = set(con.list_tables())
    except Exception as exc:
        raise BackendError(f"cannot list tables: {exc}", code="SR701") from None
    diags: list[Diagnostic] = []
    out: dict[str, Schema] = {}
    for table, path in tables_used(doc).items():
        if table not in available:
            diags.append(Diagnostic("SR307", f"table {table!r} not found in the database",
                                    doc.index.value_span(path), hint=did_you_mean(table, available)))
            continue
        try:
            found = con.table(table)
            out[table] = as_schema(found.schema())
            if tables is not None:
                tables[table] = found
        except Exception as exc:
            diags.append(Diagnostic("SR701", f"cannot read table {table!r}: {exc}", doc.index.value_span(path)))
    if diags:
        raise TypeCheckError(diagnostics=diags)
    return out


def resolve_schemas(doc: SpecDocument, con: BaseBackend | None = None,
                    tables: dict[str, ir.Table] | None = None) -> dict[str, Schema]:
    if con is not None:
        return schemas_from_connection(doc, con, tables)
    schemas = schemas_from_block(doc)
    missing = [(t, p) for t, p in tables_used(doc).items() if t not in schemas]
    if missing:
        raise TypeCheckError(diagnostics=[
            Diagnostic("SR307", f"no schema for table {t!r}: give a database (--db; con= in Python), "
                       "or add it to the spec's schema: block",
                       doc.index.value_span(p)) for t, p in missing])
    return schemas
