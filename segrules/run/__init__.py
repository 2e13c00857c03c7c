"""Run stage: connect, execute, materialise membership."""

from .connect import connect, redact
from .execute import SegmentCount, counts, counts_from_arrow, materialize, to_long

__all__ = ["connect", "redact", "SegmentCount", "counts", "counts_from_arrow", "materialize", "to_long"]
