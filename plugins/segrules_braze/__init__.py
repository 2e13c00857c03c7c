"""Built-in destination ``braze``: the audience as a value of an array attribute on Braze user
profiles, through ``POST /users/track``.

* add: ``{"<attribute>": {"add": ["<audience>"]}}`` plus the fields, per user (by ``external_id``,
  or by ``email`` with ``_update_existing_only: false``); <= 75 objects (``max_objects``: 50 on
  newer contracts) and 4 MB per request;
* update / upsert mode: the fields only;
* remove: ``{"<attribute>": {"remove": ["<audience>"]}}``;
* minor errors inside the 2xx answer (``errors`` with ``index``) become rejected rows with
  Braze's message; 429 waits until ``X-RateLimit-Reset``.

Replay: attribute writes are set semantics and array add/remove are idempotent, so a replay leaves
profiles as they should be (Braze counts another data point per write).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from segrules.plugin import (BatchResult, DestinationDef, HttpClient, HttpDestination, HttpOptions, Limits, Row,
                             SyncContext, Vendor, hookimpl, ratelimit_reset)


class BrazeOptions(HttpOptions):
    api_key: SecretStr = Field(description="REST API key with users.track: ${BRAZE_API_KEY}.")
    base_url: str = Field(description="The instance's REST endpoint, e.g. https://rest.iad-01.braze.com.")
    attribute: str = Field("segrules_audiences", description="The array attribute that holds audience names.")
    audience: str | None = Field(None, description="The name added to the attribute (default: the sync's name).")
    max_objects: int = Field(75, ge=1, le=75, description="Attribute objects per request (50 on MAU-CY24-25 contracts).")


class BrazeClient(HttpDestination):
    def __init__(self, options: BrazeOptions, context: SyncContext):
        self.options, self.context = options, context
        key = options.api_key.get_secret_value()
        self.audience = options.audience or context.sync
        self.id_field = "email" if context.identifier == "email" else "external_id"
        self.limits = Limits(options.max_objects, 3_800_000, options.concurrency or 4)
        self.http = HttpClient(options.base_url, options, Vendor("braze", wait=ratelimit_reset),
                               headers={"Authorization": f"Bearer {key}"}, secrets=(key,))

    def _object(self, op: str, row: Row) -> dict:
        obj = {self.id_field: row.identifier}
        if self.id_field == "email":
            obj["_update_existing_only"] = False
        if op != "remove":
            obj.update(row.fields)
        if op in ("add", "remove"):
            obj[self.options.attribute] = {op: [self.audience]}
        return obj

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        answer = self.http.request_json("POST", "/users/track",
                                   json={"attributes": [self._object(op, r) for r in rows]})
        if answer.get("message") == "queued":  # maintenance: accepted for later processing
            return BatchResult.all_ok(rows)
        rejected = {}
        for error in answer.get("errors") or []:
            index = error.get("index")
            if error.get("input_array", "attributes") == "attributes" and isinstance(index, int) and index < len(rows):
                rejected[rows[index].key] = error.get("type") or "rejected by Braze"
        return BatchResult.except_rejected(rows, rejected)


@hookimpl
def register_destinations():
    return [DestinationDef(
        "braze", BrazeOptions, BrazeClient, secrets=("api_key",), identifiers=("external_id", "email"),
        replay="attribute writes and array add/remove are idempotent: a replay leaves profiles right (it "
        "costs data points)",
        doc="Braze user profiles: an array attribute holding audience names, via /users/track.")]
