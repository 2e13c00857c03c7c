"""The ``taxonomies:`` and ``assume:`` spec sections and their structural checks (MECE101-MECE106)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from segrules.plugin import Diagnostic, did_you_mean

SOURCE = "mece"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Taxonomy(_Strict):
    """A named group of segments with declared properties, checked by ``validate`` (from the
    rules, without data) and ``segrules mece`` (on data)."""

    description: str | None = None
    segments: list[str] = Field(description="Segments of this spec, in priority order.")
    exclusive: bool = Field(False, description="No entity may be in two of the segments.")
    exhaustive: bool = Field(False, description="Every entity of the universe must be in one of the segments.")
    resolve: Literal["none", "priority"] = Field(
        "none", description="priority: in the output, an entity in several segments is kept in the first "
        "listed only, so what is synced is exclusive.")
    else_: str | None = Field(
        None, alias="else", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
        description="With resolve: priority, a segment created for the entities in none of the "
        "segments (makes the taxonomy exhaustive).")


class Assumption(_Strict):
    """What the data guarantees about one column (the MECE prover may rely on it)."""

    minimum: float | None = Field(None, description="Smallest possible value (inclusive).")
    maximum: float | None = Field(None, description="Largest possible value (inclusive).")
    values: list[str] | None = Field(None, description="The only values a string column takes.")
    not_null: bool = Field(False, description="The column is never null.")


def check_structure(doc) -> list[Diagnostic]:
    """Names in ``taxonomies:`` and ``assume:`` refer to what the spec has; nothing listed twice."""
    m, index = doc.model, doc.index
    diags: list[Diagnostic] = []
    segments = list(m.segments)
    owner_of_else: dict[str, str] = {}
    resolved_by: dict[str, str] = {}  # segment -> the resolve: priority taxonomy that lists it
    for name, tax in (getattr(m, "taxonomies", None) or {}).items():
        path = ("taxonomies", name)
        if not tax.segments:
            diags.append(Diagnostic("MECE103", f"taxonomy {name!r} lists no segments",
                                    index.value_span(path + ("segments",)),
                                    hint="list two or more segments of the spec", source=SOURCE))
        seen: dict[str, int] = {}
        for i, seg in enumerate(tax.segments):
            span = index.value_span(path + ("segments", i))
            if seg not in m.segments:
                diags.append(Diagnostic("MECE101", f"taxonomy {name!r}: unknown segment {seg!r}", span,
                                        hint=did_you_mean(seg, segments) or f"segments: {', '.join(segments)}",
                                        source=SOURCE))
            if seg in seen:
                diags.append(Diagnostic("MECE102", f"taxonomy {name!r} lists segment {seg!r} twice "
                                        f"(first as item {seen[seg] + 1})", span, source=SOURCE))
            seen.setdefault(seg, i)
            if tax.resolve == "priority" and seg in m.segments and seen[seg] == i:
                if seg in resolved_by:
                    diags.append(Diagnostic("MECE107", f"segment {seg!r} is in two taxonomies with resolve: "
                                            f"priority ({resolved_by[seg]!r} and {name!r})", span,
                                            hint="its output can follow one priority order only", source=SOURCE))
                resolved_by.setdefault(seg, name)
        if tax.else_ is not None:
            span = index.value_span(path + ("else",))
            if tax.resolve != "priority":
                diags.append(Diagnostic("MECE105", f"taxonomy {name!r}: else needs resolve: priority", span,
                                        hint="add resolve: priority, or remove else", source=SOURCE))
            elif tax.else_ in m.segments or tax.else_ in m.features or tax.else_ == m.entity.key:
                diags.append(Diagnostic("MECE104", f"taxonomy {name!r}: else segment {tax.else_!r} clashes "
                                        "with a segment, feature or the key of the spec", span,
                                        hint="choose a new name; the else segment is created automatically",
                                        source=SOURCE))
            elif tax.else_ in owner_of_else:
                diags.append(Diagnostic("MECE104", f"taxonomy {name!r}: else segment {tax.else_!r} is also "
                                        f"the else of taxonomy {owner_of_else[tax.else_]!r}", span,
                                        source=SOURCE))
            owner_of_else.setdefault(tax.else_, name)
    diags.extend(_check_assumptions(doc))
    return diags


def _check_assumptions(doc) -> list[Diagnostic]:
    m, diags = doc.model, []
    for column, assumption in (getattr(m, "assume", None) or {}).items():
        span = doc.index.key_span(("assume", column))
        source, _, name = column.rpartition(".")
        if source and source not in m.sources:
            diags.append(Diagnostic("MECE106", f"assume: unknown source {source!r} in {column!r}", span,
                                    hint=did_you_mean(source, m.sources) or "write source.column or an "
                                    "entity column", source=SOURCE))
        if assumption.minimum is not None and assumption.maximum is not None \
                and assumption.minimum > assumption.maximum:
            diags.append(Diagnostic("MECE106", f"assume: {column}: minimum is above maximum", span, source=SOURCE))
    return diags


def check_columns(doc, checked) -> list[Diagnostic]:
    """``assume:`` keys name real columns (needs the checked spec's schemas)."""
    m, diags = doc.model, []
    for column in (getattr(m, "assume", None) or {}):
        source, _, name = column.rpartition(".")
        if source and source not in m.sources:
            continue  # reported by check_structure
        table = m.sources[source].table if source else m.entity.table
        schema = checked.schemas.get(table)
        if schema is not None and name not in schema:
            diags.append(Diagnostic("MECE106", f"assume: {table} has no column {name!r}",
                                    doc.index.key_span(("assume", column)),
                                    hint=did_you_mean(name, schema.names), source=SOURCE))
    return diags


def taxonomies(doc) -> dict[str, Taxonomy]:
    return dict(getattr(doc.model, "taxonomies", None) or {})
