"""Run stage: connect, execute, materialise membership.

Executing is imported when first used (PEP 562): it needs Arrow. ``connect`` imports Ibis when
it is called."""

from __future__ import annotations

from ..lazy import lazy_exports

from .connect import connect, redact

__all__ = ["connect", "redact", "SegmentCount", "counts", "counts_from_arrow", "materialize", "to_long"]


LAZY = {"SegmentCount": ".execute", "counts": ".execute", "counts_from_arrow": ".execute", "materialize": ".execute",
        "to_long": ".execute"}
__getattr__ = lazy_exports(__name__, globals(), LAZY)
