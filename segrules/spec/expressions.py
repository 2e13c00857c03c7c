"""The expressions of a spec (features, segment rules) parsed where they stand in the YAML:
syntax errors with file:line:col. Needs no table schema, and no Ibis: offline ``validate``
of a spec without a ``schema:`` block stops here."""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..errors import ExprSyntaxError
from ..lang import ast as a
from ..lang.parser import parse_expr
from ..lang.positions import SourceMap
from .loader import SpecDocument


def parse_at(doc: SpecDocument, text: str, path: tuple, diags: list[Diagnostic]) -> a.Node | None:
    """Parse the expression ``text`` found at ``path`` of the spec; syntax errors go to ``diags``."""
    span = doc.index.value_span(path)
    segs = doc.index.segments(path) or ((0, span.line, span.column),)
    try:
        return parse_expr(text, source_map=SourceMap(doc.path, segs))
    except ExprSyntaxError as exc:
        diags.extend(exc.diagnostics)
        return None


def parse_expressions(doc: SpecDocument) -> tuple[dict[str, a.Node], dict[str, a.Node], list[Diagnostic]]:
    features, segments, diags = {}, {}, []
    for name, text in doc.model.features.items():
        node = parse_at(doc, text, ("features", name), diags)
        if node is not None:
            features[name] = node
    for name, seg in doc.model.segments.items():
        node = parse_at(doc, seg.where, ("segments", name, "where"), diags)
        if node is not None:
            segments[name] = node
    return features, segments, diags
