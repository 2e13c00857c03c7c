"""Intended overlaps (the spec's ``overlaps:``) measured on data, for ``audit`` and ``mece``."""

from __future__ import annotations

from segrules.plugin import Diagnostic, Severity

from .measure import Overlap
from .section import SOURCE


def intended_overlap(spec, declared, overlap: Overlap, labels: dict[str, list[str]],
                     pair: tuple[str, str]) -> list[Diagnostic]:
    """A declared overlap (``overlaps:``) of ``pair`` on data: shown as intended (MECE134, info),
    or MECE135 when a declared A ⊆ B does not hold."""
    where = spec.document.index.value_span(("overlaps", spec.model.overlaps.index(declared)))
    if declared.segments is None:
        small, large = declared.segment, declared.within
        outside = overlap.sizes[small] - overlap.both(small, large)
        if outside:
            return [Diagnostic("MECE135", f"intended overlap {declared.describe()} does not hold on data: "
                               f"{outside:,} of the {overlap.sizes[small]:,} members of {small!r} are not in "
                               f"{large!r}", where, source=SOURCE, check=True,
                               hint="fix the rules, or declare `segments: [A, B]` (they may overlap)")]
        labels.setdefault(small, []).append(f"⊆ {large} (intended)")
    elif not overlap.both(*pair):
        return []
    else:
        for s in pair:
            labels.setdefault(s, []).append(f"∩ {pair[1] if s == pair[0] else pair[0]} (intended)")
    shown = declared.describe() if declared.segments is None else f"{pair[0]} ∩ {pair[1]} may overlap"
    return [Diagnostic("MECE134", f"intended overlap: {shown} ({declared.reason})", where,
                       Severity.INFO, source=SOURCE)]


def is_finding(d: Diagnostic) -> bool:
    return d.severity is not Severity.INFO
