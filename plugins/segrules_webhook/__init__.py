"""Built-in destination ``webhook``: JSON batches POSTed to a URL you run.

Each request body is ``{"batch_id", "sync", "op", "rows": [{"message_id", "key", "identifier",
"fields"}]}`` with an ``X-Segrules-Signature: sha256=<hex>`` header, the HMAC-SHA256 of the body
under the signing secret, and ``X-Segrules-Batch-Id``.  Message ids are deterministic (sync, op,
key, field values), and so is a batch id for the same rows: a receiver deduplicates replays on
them.  Any 2xx acknowledges the batch; a body ``{"rejected": {"<key>": "<reason>"}}`` rejects rows.
"""

from __future__ import annotations

import hashlib
import hmac
import json

from pydantic import Field, SecretStr

from segrules.plugin import (BatchResult, DestinationDef, HttpClient, HttpDestination, HttpOptions, Limits, Row,
                             SyncContext, Vendor, hookimpl, ratelimit_reset)

SIGNATURE_HEADER = "X-Segrules-Signature"


class WebhookOptions(HttpOptions):
    url: str = Field(description="Where batches are POSTed.")
    secret: SecretStr | None = Field(None, description="HMAC-SHA256 signing secret: ${ENV_VAR}.")
    batch_size: int = Field(500, ge=1, description="Rows per request.")
    max_bytes: int = Field(1_000_000, ge=1024, description="Bytes of row JSON per request.")


def signature(secret: str, body: bytes) -> str:
    """The signature header value a receiver recomputes: ``sha256=`` + hex HMAC of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookClient(HttpDestination):
    def __init__(self, options: WebhookOptions, context: SyncContext):
        self.options, self.context = options, context
        secret = options.secret.get_secret_value() if options.secret else None
        self.secret = secret
        self.limits = Limits(options.batch_size, options.max_bytes, options.concurrency or 4)
        self.http = HttpClient(options.url, options, Vendor("webhook", wait=ratelimit_reset),
                               headers={"Content-Type": "application/json"}, secrets=(secret,) if secret else ())

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        batch_id = hashlib.sha256("".join(r.message_id for r in rows).encode()).hexdigest()[:32]
        body = json.dumps({"batch_id": batch_id, "sync": self.context.sync, "op": op,
                           "rows": [{"message_id": r.message_id, "key": r.key, "identifier": r.identifier,
                                     "fields": r.fields} for r in rows]}, separators=(",", ":")).encode()
        headers = {"X-Segrules-Batch-Id": batch_id}
        if self.secret:
            headers[SIGNATURE_HEADER] = signature(self.secret, body)
        response = self.http.request("POST", "", content=body, headers=headers)
        rejected = {}
        if response.content:
            try:
                answer = response.json()
            except ValueError:
                answer = {}
            if isinstance(answer, dict) and isinstance(answer.get("rejected"), dict):
                rejected = {str(k): str(v) for k, v in answer["rejected"].items()}
        return BatchResult.except_rejected(rows, rejected)


@hookimpl
def register_destinations():
    return [DestinationDef(
        "webhook", WebhookOptions, WebhookClient, secrets=("secret",),
        replay="a batch cut short by a crash is POSTed again with the same message ids (and the same "
        "batch id when the same rows are pending); receivers that deduplicate on message_id see each "
        "change once, others may see it twice",
        doc="JSON batches POSTed to a URL, HMAC-SHA256 signed.")]
