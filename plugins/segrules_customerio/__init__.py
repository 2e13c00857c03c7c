"""Built-in destination ``customerio``: a Customer.io manual segment, through the Journeys Track API.

* add: people are identified first (``POST /api/v2/batch``, ``identify`` per person with the
  fields as attributes; < 500 KB per request, 32 KB per person), which creates the ones Customer.io
  does not know, then added with ``POST /api/v1/segments/{id}/add_customers?id_type=...``
  (<= 1,000 ids);
* update: the identify batch only; upsert mode: the same, no segment membership;
* remove: ``POST /api/v1/segments/{id}/remove_customers?id_type=...`` (<= 1,000 ids);
* ``id_type`` follows the sync's identifier: ``email`` or ``id`` (external id);
* a 400 answer (``{"meta": {"error": ...}}``) refuses the batch for its content: the engine splits it
  until the offending people are isolated and rejected with Customer.io's message;
* rate limits: 429 without headers, retried with backoff (fair use ~100 requests/s).

Replay: identify is an upsert and segment add/remove are idempotent, so a replay leaves people and
segment as they should be.
"""

from __future__ import annotations

import base64

from pydantic import Field, SecretStr

from segrules.plugin import (BatchRejected, BatchResult, DestinationDef, HttpClient, HttpDestination, HttpOptions,
                             Limits, Row, SyncContext, Vendor, hookimpl)

ID_TYPE = {"email": "email", "external_id": "id"}
MAX_IDS, MAX_BYTES = 1_000, 450_000  # 1,000 ids per segment call; v2 batch < 500 KB with its envelope


class CustomerIoOptions(HttpOptions):
    site_id: SecretStr = Field(description="Track API site id: ${CUSTOMERIO_SITE_ID}.")
    api_key: SecretStr = Field(description="Track API key: ${CUSTOMERIO_API_KEY}.")
    segment_id: int = Field(description="The manual segment the audience is kept in (created in Customer.io).")
    base_url: str = Field("https://track.customer.io", description="Track API base URL (EU: https://track-eu.customer.io).")
    batch_size: int = Field(MAX_IDS, ge=1, le=MAX_IDS, description="People per request.")


class CustomerIoClient(HttpDestination):
    def __init__(self, options: CustomerIoOptions, context: SyncContext):
        self.options, self.context = options, context
        site, key = options.site_id.get_secret_value(), options.api_key.get_secret_value()
        basic = base64.b64encode(f"{site}:{key}".encode()).decode()
        self.id_type = ID_TYPE[context.identifier]
        self.limits = Limits(options.batch_size, MAX_BYTES, options.concurrency or 4)
        self.http = HttpClient(options.base_url, options, Vendor("customerio"), secrets=(site, key, basic),
                               headers={"Authorization": f"Basic {basic}"})

    def _checked(self, method: str, path: str, **kwargs) -> None:
        answer = self.http.request(method, path, ok=(200, 201, 204, 400), **kwargs)
        if answer.status_code == 400:
            try:
                reason = str(answer.json()["meta"]["error"])
            except (ValueError, KeyError, TypeError):
                reason = answer.text
            raise BatchRejected("customerio: " + self.http.scrubber.cut(reason, 300))

    def _identify(self, rows: list[Row]) -> None:
        batch = [{"type": "person", "identifiers": {self.id_type: r.identifier}, "action": "identify",
                  "attributes": ({"email": r.identifier} if self.id_type == "email" else {}) | r.fields}
                 for r in rows]
        self._checked("POST", "/api/v2/batch", json={"batch": batch})

    def _membership(self, action: str, rows: list[Row]) -> None:
        self._checked("POST", f"/api/v1/segments/{self.options.segment_id}/{action}",
                      params={"id_type": self.id_type}, json={"ids": [r.identifier for r in rows]})

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        if op == "remove":
            self._membership("remove_customers", rows)
        else:
            self._identify(rows)
            if op == "add":
                self._membership("add_customers", rows)
        # segment calls have no per-row result (Customer.io ignores ids of another id_type)
        return BatchResult.all_ok(rows)


@hookimpl
def register_destinations():
    return [DestinationDef(
        "customerio", CustomerIoOptions, CustomerIoClient, secrets=("site_id", "api_key"),
        identifiers=("email", "external_id"),
        replay="identify is an upsert and segment add/remove are idempotent: a replay changes nothing twice",
        doc="A Customer.io manual segment: identify (v2 batch), then add/remove by id with id_type.")]
