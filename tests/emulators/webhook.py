"""A webhook receiver that checks signatures, deduplicates on message ids and keeps the
membership the messages describe."""

from __future__ import annotations

import hashlib
import hmac

from .server import EmulatorServer, Faults, Reply, Request


class WebhookReceiver(EmulatorServer):
    """Accepts the ``webhook`` destination's batches.  ``members``: key -> (identifier, fields);
    ``messages``: every message id seen (duplicates counted in ``replays``); ``reject``: keys
    answered as rejected with a reason."""

    def __init__(self, secret: str | None = None, faults: Faults | None = None,
                 reject: dict[str, str] | None = None):
        super().__init__(faults)
        self.secret = secret
        self.members: dict[str, tuple[str, dict]] = {}
        self.messages: set[str] = set()
        self.replays = 0
        self.reject = reject or {}
        self.batches: list[dict] = []

    def handle(self, request: Request):
        if request.method != "POST":
            raise Reply(405, {"error": "POST only"})
        if self.secret is not None:
            expected = "sha256=" + hmac.new(self.secret.encode(), request.body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, request.headers.get("x-segrules-signature", "")):
                raise Reply(401, {"error": "bad signature"})
        batch = request.json()
        self.batches.append(batch)
        rejected = {}
        for row in batch["rows"]:
            if row["key"] in self.reject:
                rejected[row["key"]] = self.reject[row["key"]]
                continue
            if row["message_id"] in self.messages:
                self.replays += 1
                continue
            self.messages.add(row["message_id"])
            if batch["op"] == "remove":
                self.members.pop(row["key"], None)
            elif batch["op"] in ("add", "update", "upsert"):
                self.members[row["key"]] = (row["identifier"], row["fields"])
        return 200, {"rejected": rejected}
