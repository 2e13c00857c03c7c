"""Built-in destination ``hubspot``: a HubSpot manual list (CRM contacts + Lists v3).

* add: ``POST /crm/v3/objects/contacts/batch/upsert`` by email (<= 100 inputs) — per-row failures
  come back as **207** with ``errors[]`` and become rejected rows with HubSpot's message — then
  ``PUT /crm/v3/lists/{listId}/memberships/add`` with the record ids (kept as vendor ids);
* update / upsert mode: the contacts upsert only;
* remove: ``PUT /crm/v3/lists/{listId}/memberships/remove`` by record id;
* rate limits: 429 whose body names the policy: ``SECONDLY`` waits a second,
  ``TEN_SECONDLY_ROLLING`` waits ``ten_secondly_wait`` (10 s), ``DAILY`` gives up (SR821).

Replay: the upsert and membership calls are idempotent (present records are ignored), so a replay
changes nothing twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

from pydantic import Field, SecretStr

from segrules.plugin import (BatchResult, DestinationDef, HttpClient, HttpDestination, HttpOptions, Limits, Row,
                             SyncContext, Vendor, hookimpl, retry_after)

if TYPE_CHECKING:
    import httpx


class HubSpotOptions(HttpOptions):
    token: SecretStr = Field(description="Private app access token: ${HUBSPOT_TOKEN}.")
    list_id: str = Field(description="A MANUAL list of contacts (objectTypeId 0-1).")
    base_url: str = Field("https://api.hubapi.com", description="API base URL.")
    ten_secondly_wait: float = Field(10.0, ge=0, description="Wait after a TEN_SECONDLY_ROLLING 429, in seconds.")


def policy_wait(ten_secondly: float):
    """Seconds to wait from HubSpot's 429 body (``policyName``), else ``Retry-After``."""
    def wait(response: httpx.Response) -> float | None:
        try:
            policy = (response.json() or {}).get("policyName", "")
        except ValueError:
            policy = ""
        if policy == "DAILY":
            now = datetime.now(timezone.utc)
            midnight = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
            return (midnight - now).total_seconds()
        if policy == "SECONDLY":
            return 1.0
        if policy == "TEN_SECONDLY_ROLLING":
            return ten_secondly
        return retry_after(response)
    return wait


class HubSpotClient(HttpDestination):
    def __init__(self, options: HubSpotOptions, context: SyncContext):
        self.options, self.context = options, context
        token = options.token.get_secret_value()
        self.limits = Limits(100, 3_000_000, options.concurrency or 2)
        self.http = HttpClient(options.base_url, options, Vendor("hubspot", wait=policy_wait(options.ten_secondly_wait)),
                               headers={"Authorization": f"Bearer {token}"}, secrets=(token,))

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        if op == "remove":
            ids = {r.key: r.vendor_id for r in rows if r.vendor_id}
            ids.update(self._read([r for r in rows if not r.vendor_id]))
            if ids:
                self.http.request("PUT", f"/crm/v3/lists/{self.options.list_id}/memberships/remove",
                                  json=sorted(set(ids.values())))
            return BatchResult(ok={r.key: ids.get(r.key) for r in rows})  # unknown contacts are in no list
        result = self._upsert(rows)
        if op == "add" and result.ok:
            answer = self.http.request_json("PUT", f"/crm/v3/lists/{self.options.list_id}/memberships/add",
                                       json=sorted(set(result.ok.values())))
            missing = set(answer.get("recordIdsMissing") or [])
            for key, rid in list(result.ok.items()):
                if rid in missing:
                    del result.ok[key]
                    result.rejected[key] = f"HubSpot has no record {rid}"
        return result

    def _upsert(self, rows: list[Row]) -> BatchResult:
        body = {"inputs": [{"id": r.identifier, "idProperty": "email",
                            "properties": {k: "" if v is None else str(v) for k, v in r.fields.items()}}
                           for r in rows]}
        answer = self.http.request_json("POST", "/crm/v3/objects/contacts/batch/upsert", json=body, ok=(200, 207))
        by_email = {r.identifier: r.key for r in rows}
        ok = {by_email[res["properties"]["email"]]: res["id"] for res in answer.get("results", [])
              if res.get("properties", {}).get("email") in by_email}
        rejected = {}
        for error in answer.get("errors") or []:
            for email in (error.get("context") or {}).get("ids") or []:
                if email in by_email:
                    rejected[by_email[email]] = error.get("message") or error.get("category") or "rejected by HubSpot"
        return BatchResult(ok={k: v for k, v in ok.items() if k not in rejected}, rejected=rejected)

    def _read(self, rows: list[Row]) -> dict[str, str]:
        if not rows:
            return {}
        body = {"idProperty": "email", "properties": ["email"], "inputs": [{"id": r.identifier} for r in rows]}
        answer = self.http.request_json("POST", "/crm/v3/objects/contacts/batch/read", json=body, ok=(200, 207))
        by_email = {r.identifier: r.key for r in rows}
        return {by_email[res["properties"]["email"]]: res["id"] for res in answer.get("results", [])
                if res.get("properties", {}).get("email") in by_email}


@hookimpl
def register_destinations():
    return [DestinationDef(
        "hubspot", HubSpotOptions, HubSpotClient, secrets=("token",), identifiers=("email",),
        replay="contact upserts and list membership calls are idempotent: a replay changes nothing twice",
        doc="A HubSpot manual list: contacts batch upsert by email, Lists v3 memberships by record id.")]
