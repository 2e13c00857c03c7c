"""What a stream-source plugin hands to ``segrules serve`` (``register_stream_sources``): a consumer
of a log (Kafka, Kinesis, a queue) that feeds the service's ingest path, the same as ``POST``.

The service owns the offsets. A record's offset is stored in the same transaction as its row, so
the tables say exactly which records they hold: on start the consumer is opened with
``StreamContext.resume`` (per partition, the last offset stored) and should seek just after it;
records at or below it that a consumer delivers again (it cannot seek, its own committed position
is older) are dropped by the service, never appended twice. ``commit(offsets)`` is called after
the durable append, to move the broker's own position (advisory: the stored offsets win).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol

Op = Literal["append", "upsert", "delete"]
OPS: tuple[str, ...] = ("append", "upsert", "delete")


@dataclass(frozen=True)
class StreamRecord:
    """One record of the stream: ``row`` (column: JSON value, as ``POST`` takes it) for the spec's
    source ``source`` (or its entity table); ``offset`` increases within ``partition``. ``op``:
    ``append`` (a new row), ``upsert`` or ``delete`` (entity table only; a delete's row holds just
    the key)."""

    partition: str
    offset: int
    source: str
    row: dict[str, Any]
    op: Op = "append"


@dataclass(frozen=True)
class StreamContext:
    """What a consumer is opened with: the spec, the names it may feed (sources and the entity
    table), the ``--stream-option`` values, and ``resume``: per partition, the last offset the
    service stored (start after it; a partition not listed starts at the beginning)."""

    spec: str
    sources: tuple[str, ...]
    options: dict[str, str] = field(default_factory=dict)
    resume: dict[str, int] = field(default_factory=dict)


class StreamConsumer(Protocol):
    """An open stream: ``poll`` returns the next records in offset order per partition (an
    empty list after ``timeout`` seconds without any); ``commit`` gets, per partition, the last
    offset now stored; ``close`` ends it."""

    def poll(self, max_records: int, timeout: float) -> list[StreamRecord]: ...

    def commit(self, offsets: dict[str, int]) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class StreamSourceDef:
    """A stream source type for ``segrules serve --stream NAME``: ``open(context)`` returns the
    consumer; ``doc``: one line for ``--help`` and the docs."""

    name: str
    open: Callable[[StreamContext], StreamConsumer]
    doc: str = ""
