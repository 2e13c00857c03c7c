"""The HTTP Tracking API client Segment and RudderStack share (``POST /v1/batch``).

Audience membership as the vendor's own audience convention (what Segment Engage emits), chosen
per destination with ``emit:``:

* ``traits``: ``identify`` with the boolean trait ``<audience>: true`` on add, ``false`` on
  remove, and the synced fields as traits;
* ``events``: ``track`` ``Audience Entered`` / ``Audience Exited`` with ``audience_key``
  (the fields go in the event's properties and an ``identify`` carries updates).

Every event carries a deterministic ``messageId`` (the engine's per (sync, key, change) id), so a
replay after a crash is deduplicated by the vendor.  A batch is at most 2,500 events and 500 KB,
an event at most 32 KB (measured on the exact JSON sent): the API drops larger events silently
with a 200, so they are rejected before sending instead.  A 400 (invalid or oversized payload) is
a refusal of the whole batch (:class:`~segrules.plugin.BatchRejected`: the engine bisects it); a
200 whose body is not ``{"success": true}`` acknowledges nothing (SR825).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import Field, SecretStr

from segrules.plugin import (BatchRejected, BatchResult, HttpClient, HttpDestination, HttpOptions, Limits, Row,
                             SinkError, SyncContext, Vendor, retry_after)

MAX_EVENTS = 2_500
MAX_BATCH_BYTES = 500_000  # 500 KB, counted in 1,000s: below the documented limit however KB is read
MAX_EVENT_BYTES = 32_000
ENVELOPE = 200  # bytes of {"batch":[...],"context":{...}} around the events, generously
LIBRARY = {"library": {"name": "segrules", "version": "1"}}


class TrackingOptions(HttpOptions):
    """Options shared by the tracking-API destinations."""

    write_key: SecretStr = Field(description="The source's write key: ${SEGMENT_WRITE_KEY} (sent as HTTP Basic "
                                 "auth, the key as user name).")
    emit: Literal["traits", "events"] = Field(
        "traits", description="traits: identify with `<audience>: true/false`; events: track Audience "
        "Entered / Audience Exited.")
    audience_key: str | None = Field(None, description="The audience's name in traits and events (default: the "
                                     "synced segment's name).")


def timestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class TrackingClient(HttpDestination):
    """One open tracking-API destination (Segment, RudderStack: ``vendor`` names it)."""

    def __init__(self, vendor: str, base_url: str, options: TrackingOptions, context: SyncContext):
        import httpx

        self.options, self.context = options, context
        self.audience = options.audience_key or context.segment or context.sync
        self.sent_at = timestamp()
        key = options.write_key.get_secret_value()
        self.http = HttpClient(base_url, options, Vendor(vendor, wait=retry_after), auth=httpx.BasicAuth(key, ""),
                               secrets=(key,))
        self.limits = self.limits_for("add")

    # -- events ---------------------------------------------------------------------------
    def _who(self, row: Row) -> dict[str, Any]:
        who: dict[str, Any] = {"userId": row.identifier}
        if self.context.identifier == "email":
            who["context"] = {**LIBRARY, "traits": {"email": row.identifier}}
        return who

    def events(self, op: str, row: Row) -> list[dict[str, Any]]:
        """The tracking calls of one row's change (one, or two for an entered event with fields)."""
        base = {**self._who(row), "messageId": f"segrules-{row.message_id}", "timestamp": self.sent_at}
        traits = dict(row.fields)
        if op in ("add", "update", "remove") and self.options.emit == "traits":
            traits[self.audience] = op != "remove"
        if self.options.emit == "events" and op in ("add", "remove"):
            event = "Audience Entered" if op == "add" else "Audience Exited"
            return [{**base, "type": "track", "event": event,
                     "properties": {"audience_key": self.audience, **traits}}]
        return [{**base, "type": "identify", "traits": traits}]

    def event_size(self, op: str, row: Row) -> int:
        """The bytes of the row's events in the batch (a comma each)."""
        return sum(len(json.dumps(e, separators=(",", ":"), default=str).encode()) + 1 for e in self.events(op, row))

    def limits_for(self, op: str) -> Limits:
        """The documented limits, rows measured as the exact events of ``op``."""
        return Limits(MAX_EVENTS, MAX_BATCH_BYTES - ENVELOPE, self.options.concurrency or 4,
                      max_row_bytes=MAX_EVENT_BYTES, row_size=lambda row: self.event_size(op, row))

    # -- sending --------------------------------------------------------------------------
    def send(self, op: str, rows: list[Row]) -> BatchResult:
        batch = [e for row in rows for e in self.events(op, row)]
        body = json.dumps({"batch": batch, "context": LIBRARY}, separators=(",", ":"), default=str).encode()
        response = self.http.request("POST", "/v1/batch", content=body, ok=(200, 400),
                                     headers={"Content-Type": "application/json"})
        if response.status_code == 400:
            raise BatchRejected(self.http.scrub(f"{self.http.vendor.name}: HTTP 400 "
                                                f"{self.http.scrubber.cut(response.text, 300)}"))
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or answer.get("success") is not True:
            raise SinkError(self.http.scrub(
                f"{self.http.vendor.name}: POST /v1/batch answered 200 without {{\"success\": true}} "
                f"({self.http.scrubber.cut(response.text, 200)!r}); nothing of the batch is taken as acknowledged"),
                code="SR825")
        return BatchResult.all_ok(rows)


REPLAY = ("every event carries a deterministic messageId (same sync, member and change -> same id), which the "
          "vendor deduplicates on: a replay after a crash is not counted twice")
