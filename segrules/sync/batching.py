"""Split rows into batches that respect a destination's documented limits: at most
``max_rows`` rows and ``max_bytes`` bytes of JSON per batch."""

from __future__ import annotations

import json
from typing import Iterator, Sequence, TypeVar

from ..plugin.destinations import Limits, Row


def row_bytes(row: Row) -> int:
    """The size of a row's JSON (identifier and fields), plus a separator."""
    return len(json.dumps({"id": row.identifier, **row.fields}, default=str, separators=(",", ":"))
               .encode("utf-8")) + 1


def split_batches(rows: list[Row], limits: Limits) -> tuple[list[list[Row]], list[tuple[Row, str]]]:
    """Batches in row order, and the rows too large to send at all with the reason."""
    batches: list[list[Row]] = []
    too_large: list[tuple[Row, str]] = []
    current: list[Row] = []
    size = 0
    measure = limits.row_size or row_bytes
    cap = min(c for c in (limits.max_bytes, limits.max_row_bytes) if c) if (limits.max_bytes or limits.max_row_bytes) \
        else None
    for row in rows:
        n = measure(row) if (limits.max_bytes or limits.max_row_bytes) else 0
        if cap is not None and n > cap:
            too_large.append((row, f"row is {n} bytes of JSON; the destination takes at most {cap}"))
            continue
        if current and (len(current) >= limits.max_rows or (limits.max_bytes and size + n > limits.max_bytes)):
            batches.append(current)
            current, size = [], 0
        current.append(row)
        size += n
    if current:
        batches.append(current)
    return batches, too_large


T = TypeVar("T")


def iter_chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive chunks of at most ``size`` (a vendor's per-call limit)."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
