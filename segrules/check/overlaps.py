"""``overlaps:``: intended overlaps name segments of the spec (SR321), each pair once."""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..spec import SpecDocument
from .schema import did_you_mean


def overlap_diagnostics(doc: SpecDocument) -> list[Diagnostic]:
    """Unknown or repeated segments of the ``overlaps:`` entries, at the name."""
    m, index = doc.model, doc.index
    diags: list[Diagnostic] = []
    known = list(m.segments)
    for i, item in enumerate(m.overlaps):
        keys: list[tuple[str | int, ...]] = [("segment",), ("within",)] if item.segments is None else [("segments", j) for j in
                                                                           range(len(item.segments))]
        for key, name in zip(keys, item.names):
            if name not in m.segments:
                diags.append(Diagnostic("SR321", f"overlaps: unknown segment {name!r}",
                                        index.value_span(("overlaps", i) + key),
                                        hint=did_you_mean(name, known) or f"segments: {', '.join(known)}"))
        if len(set(item.names)) != len(item.names):
            diags.append(Diagnostic("SR321", f"overlaps: {item.describe()} names a segment twice",
                                    index.value_span(("overlaps", i)), hint="an overlap is between two segments"))
    return diags
