"""What a destination plugin hands to segrules (``register_destinations``) and what the sync
engine hands back to it.

The engine does the work every destination shares: the audience, the diff against what the
destination acknowledged, identifier checks, batching, concurrency, state and the run log.  A
destination only turns a batch of rows into its vendor's calls and says, per row, what the vendor
accepted (with the vendor's record id when later calls need it) and what it rejected (with the
vendor's reason).  Rows it says nothing about are not acknowledged: they are sent again next run,
so every call must be safe to replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Protocol

from ..errors import SinkError

Op = Literal["add", "update", "remove", "upsert"]
OPS: tuple[str, ...] = ("remove", "add", "update", "upsert")  # the order the engine sends them in


@dataclass(frozen=True)
class Row:
    """One audience member in a batch.  ``fields``: destination field -> JSON-ready value;
    ``vendor_id``: the id the destination returned when the row was last acknowledged;
    ``message_id``: deterministic (same sync, op, key and values -> same id) for vendors that
    deduplicate on it."""

    key: str
    identifier: str
    fields: dict[str, Any] = field(default_factory=dict)
    vendor_id: str | None = None
    message_id: str = ""


@dataclass
class BatchResult:
    """Per-row outcome of one batch: ``ok`` maps key -> vendor record id (None if the vendor has
    none); ``rejected`` maps key -> the vendor's reason.  Keys in neither are unacknowledged."""

    ok: dict[str, str | None] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    incomplete: bool = False  # the vendor's answer left rows out (a truncated error list): see from_errors

    @classmethod
    def all_ok(cls, rows: list[Row]) -> "BatchResult":
        return cls(ok={r.key: r.vendor_id for r in rows})

    @classmethod
    def from_errors(cls, rows: list[Row], rejected: dict[str, str], *, complete: bool) -> "BatchResult":
        """A 2xx answer with a per-row error list: ``rejected`` (key -> the vendor's reason) from
        the list; ``complete`` False when the list is truncated or its count disagrees with it
        (``error_count`` > len(errors)): then only the listed rows are known, and the others are
        NOT acknowledged -- an answer does not vouch for rows it may have left out.  The engine
        sends those again in smaller batches (whose error lists fit), down to single rows; what
        is still unvouched then is sent again by the next run."""
        if complete:
            return cls.except_rejected(rows, rejected)
        keys = {r.key for r in rows}
        return cls(rejected={k: v for k, v in rejected.items() if k in keys}, incomplete=True)

    @classmethod
    def except_rejected(cls, rows: list[Row], rejected: dict[str, str]) -> "BatchResult":
        """Every row acknowledged (without a vendor id) except the ``rejected`` ones."""
        return cls(ok={r.key: None for r in rows if r.key not in rejected},
                   rejected={k: v for k, v in rejected.items() if any(r.key == k for r in rows)})


class BatchRejected(SinkError):
    """Raise from :meth:`DestinationClient.send` when the vendor refused the WHOLE batch because of
    its content (a 400 naming one bad record, an oversized payload...), with the vendor's message.
    The engine splits the batch in two and sends each half again, recursively, until the bad rows
    are isolated: the good rows are delivered, a single row still refused becomes a rejected row
    with ``message``.  Do not raise it for auth, rate-limit or server failures (those are
    :class:`~segrules.plugin.SinkError`: nothing is acknowledged, the next run sends again)."""

    default_code = "SR827"


class RetryBudgetSpent(SinkError):
    """The run's retry budget (retries, or total rate-limit wait) is spent: the engine stops
    sending, keeps what was acknowledged and ends the sync ``partial``; the next run resumes.
    :class:`~segrules.plugin.HttpClient` raises it; a destination with its own retry loop may too."""

    default_code = "SR826"


@dataclass(frozen=True)
class Limits:
    """A destination's documented batch limits and how many batches may be in flight at once.
    ``max_bytes`` bounds the size of a batch's rows: by default the JSON of their identifier and
    fields (leave headroom for the envelope), or ``row_size(row)`` -- the bytes the row takes in the
    vendor's payload -- when given.  ``max_row_bytes``: the vendor's limit per record (a larger row
    is rejected before sending, with the reason, instead of being dropped by the vendor)."""

    max_rows: int = 1000
    max_bytes: int | None = None
    concurrency: int = 1
    max_row_bytes: int | None = None
    row_size: Callable[[Row], int] | None = None


@dataclass(frozen=True)
class SyncContext:
    """What a destination is opened with besides its options."""

    sync: str
    destination: str
    mode: str
    identifier: str  # the identifier kind: email, phone or external_id
    fields: tuple[str, ...]
    segment: str = ""  # the synced segment (an audience name for destinations that show one)
    full_resync: bool = False  # every member is sent again (``--full-resync``)


class DestinationClient(Protocol):
    """An open destination.  Stream destinations implement :meth:`send`; snapshot destinations
    (``DestinationDef.snapshot``) implement :meth:`write_snapshot` instead."""

    limits: Limits  # or a method ``limits_for(op) -> Limits`` when they differ per operation

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        """Deliver one batch of ``op`` rows; raise :class:`~segrules.plugin.SinkError` when the
        whole batch failed (nothing of it is acknowledged)."""

    def write_snapshot(self, audience: Any, changes: Any) -> None:
        """Replace the destination's content with ``audience`` (a PyArrow table: key, identifier,
        fields) and record ``changes`` (op, key, identifier, fields), atomically."""

    def close(self) -> None:
        """Release connections."""

    # optional: ``finish() -> None``, called once after every batch of the run was delivered
    # (not after a failure), e.g. to close a vendor's upload session.


@dataclass(frozen=True)
class DestinationDef:
    """A destination type usable as ``destinations: {x: {type: NAME, ...}}``.

    ``options``: pydantic model of the destination's keys (besides ``type``); ``secrets``: option
    names that must be written ``${ENV_VAR}``; ``open(options, context)`` returns a
    :class:`DestinationClient`; ``identifiers`` and ``modes`` it supports; ``snapshot``: it gets
    the whole audience at once (files, tables) instead of batches; ``replay``: what a replay after
    a crash can and cannot duplicate (shown in the docs); ``hashing``: a vendor of
    ``segrules.plugin.HASHING_VENDORS`` — identifiers are normalised and SHA-256 hashed by its
    rules in the audience query, so the raw value reaches neither the destination nor the state
    store; ``fields``: the field names the destination accepts (None: any)."""

    name: str
    options: Any
    open: Callable[[Any, SyncContext], DestinationClient]
    secrets: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ("email", "phone", "external_id")
    modes: tuple[str, ...] = ("mirror", "add_only", "upsert")
    snapshot: bool = False
    replay: str = ""
    doc: str = ""
    hashing: str | None = None
    fields: tuple[str, ...] | None = None
