"""Built-in destination ``meta``: a Meta (Facebook) Custom Audience, through the Marketing API.

* add: ``POST /{version}/{audience_id}/users``; remove: ``DELETE /{version}/{audience_id}/users``
  (same body), ``payload`` = ``{"schema": "EMAIL_SHA256" | "PHONE_SHA256", "data": [...]}``,
  <= 10,000 rows per request;
* ``--full-resync``: the members go through ``POST /{audience_id}/usersreplace`` in ONE session
  (``session_id``, increasing ``batch_seq``); when every batch was delivered the last one is sent
  again with ``last_batch_flag: true``, and Meta drops whoever the session did not upload — without
  resetting the ad sets' learning phase. A run that fails leaves the session open (Meta applies
  nothing of it beyond the uploads);
* per-row problems come inside the 200 answer (``num_invalid_entries``, ``invalid_entry_samples``):
  samples that name a row reject it with Meta's reason; invalid entries the samples do not name
  refuse the batch (the engine splits it until they are isolated); an answer whose
  ``num_received`` is not the number of rows sent acknowledges nothing;
* throttling is a Graph error code in a 400 (4, 17, 32, 613, 80003, 80004), not a 429; the wait is
  ``estimated_time_to_regain_access`` of ``X-Business-Use-Case-Usage`` (minutes), else backoff;
  other Graph errors about the request's content refuse the batch.

Identifiers are normalised and SHA-256 hashed by Meta's rules in the audience query
(``DestinationDef.hashing``: phones without ``+``): the raw email or phone reaches neither Meta
nor the state store, and the destination takes no fields.

Replay: add and remove are set operations: a replay changes nothing twice.
"""

from __future__ import annotations

import json
import random

from pydantic import Field, SecretStr

from segrules.plugin import (BatchRejected, BatchResult, DestinationDef, HttpClient, HttpDestination, HttpOptions,
                             Limits, Row, SinkError, SyncContext, Vendor, hookimpl)

SCHEMA = {"email": "EMAIL_SHA256", "phone": "PHONE_SHA256"}
THROTTLED = {4, 17, 32, 613, 80003, 80004}  # app, user, page, ad-account and business-use-case limits
AUTH = {102, 190, 200, 10}  # session, access token and permission errors


def _graph_error(response) -> dict:
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        return {}
    return error if isinstance(error, dict) else {}


def _throttled(response) -> bool:
    return response.status_code in (400, 403, 429) and _graph_error(response).get("code") in THROTTLED


def _regain(response) -> float | None:
    """Seconds from ``estimated_time_to_regain_access`` (minutes) in X-Business-Use-Case-Usage."""
    try:
        usage = json.loads(response.headers.get("X-Business-Use-Case-Usage") or "{}")
        minutes = max(float(entry.get("estimated_time_to_regain_access") or 0)
                      for entries in usage.values() for entry in entries)
    except (ValueError, TypeError, AttributeError):
        return None
    return minutes * 60 if minutes > 0 else None


class MetaOptions(HttpOptions):
    access_token: SecretStr = Field(description="System-user access token with ads_management: ${META_ACCESS_TOKEN}.")
    audience_id: str = Field(description="The custom audience (customer_file_source set when it was created).")
    base_url: str = Field("https://graph.facebook.com", description="Graph API base URL.")
    api_version: str = Field("v25.0", description="Graph API version.")
    batch_size: int = Field(10_000, ge=1, le=10_000, description="Rows per request.")


class MetaClient(HttpDestination):
    def __init__(self, options: MetaOptions, context: SyncContext):
        self.options, self.context = options, context
        token = options.access_token.get_secret_value()
        self.schema = SCHEMA[context.identifier]
        self.replace = context.full_resync and context.mode == "mirror"
        self.limits = Limits(options.batch_size, None, 1 if self.replace else (options.concurrency or 2))
        self.path = f"/{options.api_version}/{options.audience_id}"
        self.session_id = random.SystemRandom().randrange(1, 2 ** 63)
        self.batch_seq = 0
        self.last: list[Row] | None = None
        self.refused = False  # a row of the replace session was refused
        self.http = HttpClient(options.base_url, options, Vendor("meta", is_rate_limited=_throttled, wait=_regain),
                               headers={"Authorization": f"Bearer {token}"}, secrets=(token,))

    def _post(self, method: str, path: str, rows: list[Row], session: dict | None = None) -> BatchResult:
        body: dict = {"payload": {"schema": self.schema, "data": [r.identifier for r in rows]}}
        if session:
            body["session"] = session
        answer = self.http.request(method, path, json=body, ok=(200, 400, 403))
        if answer.status_code != 200:
            error = _graph_error(answer)
            message = self.http.scrubber.cut(str(error.get("error_user_msg") or error.get("message") or answer.text), 300)
            if answer.status_code == 403 or error.get("code") in AUTH:
                raise SinkError(f"meta: {method} {path} was refused: {message}", code="SR822")
            if error.get("error_subcode") == 1713230:  # the audience is flagged: no batch can pass
                raise SinkError(f"meta: {message}", code="SR823")
            raise BatchRejected(f"meta: {message}")
        try:
            result = answer.json()
            received = int(result["num_received"])
        except (ValueError, KeyError, TypeError):
            raise SinkError(f"meta: {method} {path} answered 200 without num_received: nothing acknowledged",
                            code="SR825") from None
        if received != len(rows):
            raise SinkError(f"meta: {received} of {len(rows)} rows received: nothing acknowledged", code="SR825")
        invalid = int(result.get("num_invalid_entries") or 0)
        if not invalid:
            return BatchResult.all_ok(rows)
        samples = result.get("invalid_entry_samples") or {}
        by_value = {r.identifier: r.key for r in rows}
        rejected = {by_value[v]: "invalid entry: " + self.http.scrubber.cut(str(why), 300) for v, why in samples.items()
                    if v in by_value}
        if len(rejected) != invalid:
            raise BatchRejected(f"meta: {invalid} invalid entries ({len(rows)} rows)")
        return BatchResult.except_rejected(rows, rejected)

    def _session(self, last: bool) -> dict:
        return {"session_id": self.session_id, "batch_seq": self.batch_seq, "last_batch_flag": last}

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        if op == "remove":
            return self._post("DELETE", f"{self.path}/users", rows)
        if not self.replace:
            return self._post("POST", f"{self.path}/users", rows)
        self.batch_seq += 1
        try:
            result = self._post("POST", f"{self.path}/usersreplace", rows, self._session(False))
        except BatchRejected:
            self.refused = True
            raise
        self.refused = self.refused or bool(result.rejected)
        self.last = rows
        return result

    def finish(self) -> None:
        """Close the replace session: the last batch again, flagged last.  Not when Meta refused a
        row of the session: closing would drop that member while the state still holds it from an
        earlier run, so the session is left open (Meta applies its uploads, drops no one)."""
        if self.replace and self.last is not None and not self.refused:
            self.batch_seq += 1
            self._post("POST", f"{self.path}/usersreplace", self.last, self._session(True))


@hookimpl
def register_destinations():
    return [DestinationDef(
        "meta", MetaOptions, MetaClient, secrets=("access_token",), identifiers=("email", "phone"),
        modes=("mirror", "add_only"), hashing="meta", fields=(),
        replay="add and remove are set operations: a replay changes nothing twice; a full resync's replace "
        "session is closed only after every batch was delivered",
        doc="A Meta Custom Audience: /users add and remove, usersreplace sessions for full resyncs; hashed "
        "identifiers only.")]
