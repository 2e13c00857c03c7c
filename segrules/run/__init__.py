"""Run stage: connect, execute, materialise membership.

Executing is imported when first used (PEP 562): it needs Arrow. ``connect`` imports Ibis when
it is called."""

from __future__ import annotations

from .connect import connect, redact

__all__ = ["connect", "redact", "SegmentCount", "counts", "counts_from_arrow", "materialize", "to_long"]


def __getattr__(name: str):
    if name not in ("SegmentCount", "counts", "counts_from_arrow", "materialize", "to_long"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import execute
    value = getattr(execute, name)
    globals()[name] = value  # looked up once
    return value
