"""A Segment / RudderStack HTTP Tracking API emulator (``POST /v1/batch``), per the contract in
CONTRACTS.md section 7 (segment-docs ``http-api/index.md``):

* auth: HTTP Basic with the write key as user name and an empty password (401 otherwise);
* a request over 500 KB, or a body that is not JSON -> 400 (the whole batch refused);
* events over 32 KB, or past the 2,500th of a batch, are dropped SILENTLY with a 200 (``dropped``);
  so are events without ``userId`` / ``anonymousId``;
* ``poison``: user ids whose presence makes the whole batch a 400 naming the event (a vendor that
  refuses a batch for one bad record: tests of bisection);
* ``messageId`` deduplication: an event whose id was seen is not applied again (``duplicates``);
* rate limit: more than ``burst`` requests in one second -> 429 with ``Retry-After`` and
  ``X-RateLimit-Reset`` (seconds);
* ``malformed``: probability of answering a 200 whose body is not JSON (the batch IS applied:
  the client must not take it as acknowledged, and the replay is deduplicated).

State per user: ``traits`` (identify merges them) and the last Audience Entered/Exited per
audience key.
"""

from __future__ import annotations

import base64
import json

from .server import EmulatorServer, Faults, Reply, Request

MAX_BATCH_BYTES, MAX_EVENT_BYTES, MAX_EVENTS = 500 * 1024, 32 * 1024, 2_500


class TrackingEmulator(EmulatorServer):
    def __init__(self, write_key: str, *, faults: Faults | None = None, burst: int | None = None,
                 poison: set[str] | None = None, malformed: float = 0.0):
        super().__init__(faults)
        self.write_key, self.burst, self.poison, self.malformed = write_key, burst, set(poison or ()), malformed
        self.traits: dict[str, dict] = {}
        self.audiences: dict[str, dict[str, bool]] = {}  # audience key -> user -> entered
        self.message_ids: set[str] = set()
        self.duplicates = 0
        self.dropped: list[dict] = []
        self.events = 0  # events applied
        self.batch_sizes: list[int] = []

    # -- helpers for tests ---------------------------------------------------------------
    def trait_members(self, trait: str) -> set[str]:
        return {u for u, t in self.traits.items() if t.get(trait) is True}

    def event_members(self, audience: str) -> set[str]:
        return {u for u, entered in self.audiences.get(audience, {}).items() if entered}

    def rate_limited(self):
        return 429, {"success": False, "message": "rate limit exceeded"}, {"Retry-After": "0", "X-RateLimit-Reset": "0"}

    # -- the API ---------------------------------------------------------------------------
    def handle(self, request: Request):
        expected = "Basic " + base64.b64encode(f"{self.write_key}:".encode()).decode()
        if request.headers.get("authorization") != expected:
            raise Reply(401, {"success": False, "message": "invalid write key"})
        if self.over_burst(self.burst):
            return self.rate_limited()
        if request.method != "POST" or request.path != "/v1/batch":
            raise Reply(404, {"success": False, "message": "not found"})
        if len(request.body) > MAX_BATCH_BYTES:
            raise Reply(400, {"success": False, "message": f"payload of {len(request.body)} bytes exceeds 500KB"})
        try:
            batch = json.loads(request.body)["batch"]
        except (ValueError, KeyError, TypeError):
            raise Reply(400, {"success": False, "message": "invalid JSON"}) from None
        for event in batch:
            if event.get("userId") in self.poison:
                raise Reply(400, {"success": False, "message": f"event {event.get('messageId')} for user "
                                  f"{event.get('userId')} is invalid"})
        with self.lock:
            self.batch_sizes.append(len(batch))
            for i, event in enumerate(batch):
                size = len(json.dumps(event, separators=(",", ":")).encode())
                user = event.get("userId") or event.get("anonymousId")
                if i >= MAX_EVENTS or size > MAX_EVENT_BYTES or not user:
                    self.dropped.append(event)
                    continue
                mid = event.get("messageId")
                if mid in self.message_ids:
                    self.duplicates += 1
                    continue
                self.message_ids.add(mid)
                self.events += 1
                if event.get("type") == "identify":
                    self.traits.setdefault(user, {}).update(event.get("traits") or {})
                elif event.get("type") == "track" and event.get("event") in ("Audience Entered", "Audience Exited"):
                    key = (event.get("properties") or {}).get("audience_key")
                    self.audiences.setdefault(key, {})[user] = event["event"] == "Audience Entered"
        if self.malformed and self.faults.random.random() < self.malformed:
            raise Reply(200, b"<html>upstream proxy error</html>")  # raw bytes: not JSON at all
        return 200, {"success": True}
