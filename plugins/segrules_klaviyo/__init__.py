"""Built-in destination ``klaviyo``: a Klaviyo list, through the official API (revision 2026-07-15).

* add / update: ``POST /api/profile-bulk-import-jobs`` (<= 10,000 profiles, < 5 MB) with the list
  as relationship — an upsert of the profiles that also adds them to the list — polled until
  ``complete``; the job's import errors become rejected rows with Klaviyo's reason; the profile
  ids are then read with ``GET /api/profiles?filter=any(email,[...])`` and kept as vendor ids.
* upsert mode: the same import without the list.
* remove: ``DELETE /api/lists/{id}/relationships/profiles`` (<= 1,000 profile ids; does not touch
  consent).
* rate limits: 429 with ``Retry-After`` (seconds).

Replay: list add/remove are idempotent and the import is an upsert, so a replay re-imports the same
profiles (a second job) but leaves list and profiles as they should be.
"""

from __future__ import annotations

import json

from pydantic import Field, SecretStr

from segrules.plugin import (BatchResult, DestinationDef, HttpClient, HttpDestination, HttpOptions, Limits, Row,
                             SinkError, SyncContext, Vendor, hookimpl, iter_chunks, retry_after)

JSONAPI = "application/vnd.api+json"
STANDARD = ("first_name", "last_name", "organization", "locale", "title", "image")
ID_FIELD = {"email": "email", "phone": "phone_number", "external_id": "external_id"}


class KlaviyoOptions(HttpOptions):
    api_key: SecretStr = Field(description="Private API key: ${KLAVIYO_API_KEY}.")
    list_id: str = Field(description="The list the audience is kept in.")
    base_url: str = Field("https://a.klaviyo.com", description="API base URL.")
    revision: str = Field("2026-07-15", description="API revision header.")
    poll_interval: float = Field(1.0, ge=0, description="Seconds between polls of an import job.")
    job_timeout: float = Field(3600.0, gt=0, description="Longest wait for an import job, in seconds.")


class KlaviyoClient(HttpDestination):
    def __init__(self, options: KlaviyoOptions, context: SyncContext):
        self.options, self.context = options, context
        key = options.api_key.get_secret_value()
        self.id_field = ID_FIELD[context.identifier]
        self.concurrency = options.concurrency or 3
        self.http = HttpClient(options.base_url, options, Vendor("klaviyo", wait=retry_after), secrets=(key,),
                               headers={"Authorization": f"Klaviyo-API-Key {key}", "revision": options.revision,
                                        "Accept": JSONAPI, "Content-Type": JSONAPI})

    def limits_for(self, op: str) -> Limits:
        if op == "remove":
            return Limits(1_000, None, self.concurrency)
        return Limits(10_000, 4_500_000, self.concurrency)  # 5 MB per job, minus the envelope

    def _profile(self, row: Row) -> dict:
        attrs = {self.id_field: row.identifier}
        props = {}
        for name, value in row.fields.items():
            if name in STANDARD or name in ID_FIELD.values():
                attrs[name] = value
            else:
                props[name] = value
        if props:
            attrs["properties"] = props
        return {"type": "profile", "attributes": attrs}

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        if op == "remove":
            return self._remove(rows)
        return self._import(rows, with_list=op != "upsert")

    def _import(self, rows: list[Row], with_list: bool) -> BatchResult:
        data = {"type": "profile-bulk-import-job",
                "attributes": {"profiles": {"data": [self._profile(r) for r in rows]}}}
        if with_list:
            data["relationships"] = {"lists": {"data": [{"type": "list", "id": self.options.list_id}]}}
        job = self.http.request_json("POST", "/api/profile-bulk-import-jobs", json={"data": data}, ok=(202,))
        job_id = job["data"]["id"]
        done = self.http.poll(f"/api/profile-bulk-import-jobs/{job_id}",
                              lambda b: b["data"]["attributes"]["status"] in ("complete", "cancelled"),
                              interval=self.options.poll_interval, timeout=self.options.job_timeout)
        attrs = done["data"]["attributes"]
        if attrs["status"] == "cancelled":
            raise SinkError(f"klaviyo: import job {job_id} was cancelled", code="SR824")
        rejected: dict[str, str] = {}
        if attrs.get("failed_count"):
            by_identifier = {r.identifier: r.key for r in rows}
            for error in self._pages(f"/api/profile-bulk-import-jobs/{job_id}/import-errors"):
                e = error["attributes"]
                key = by_identifier.get((e.get("original_payload") or {}).get(self.id_field))
                if key is not None:
                    rejected[key] = e.get("detail") or e.get("title") or "rejected by Klaviyo"
        if len(rejected) < (attrs.get("failed_count") or 0):  # errors the listing left out: vouch for none
            return BatchResult.from_errors(rows, rejected, complete=False)
        ids = self._resolve([r for r in rows if r.key not in rejected])
        return BatchResult(ok={r.key: ids[r.identifier] for r in rows if r.identifier in ids and r.key not in rejected},
                           rejected=rejected)

    def _pages(self, path: str):
        url = path
        while url:
            body = self.http.request_json("GET", url)
            yield from body.get("data", [])
            url = (body.get("links") or {}).get("next")

    def _resolve(self, rows: list[Row]) -> dict[str, str]:
        """identifier -> Klaviyo profile id, 100 identifiers per request."""
        ids: dict[str, str] = {}
        for chunk in iter_chunks([r.identifier for r in rows], 100):
            values = ",".join(json.dumps(v) for v in chunk)
            params = {"filter": f"any({self.id_field},[{values}])", "page[size]": "100"}
            body = self.http.request_json("GET", "/api/profiles", params=params)
            for profile in body.get("data", []):
                value = profile["attributes"].get(self.id_field)
                if value is not None:
                    ids[value] = profile["id"]
        return ids

    def _remove(self, rows: list[Row]) -> BatchResult:
        missing = [r for r in rows if not r.vendor_id]
        resolved = self._resolve(missing) if missing else {}
        ids = {r.key: r.vendor_id or resolved.get(r.identifier) for r in rows}
        present = [pid for pid in ids.values() if pid]
        if present:
            self.http.request("DELETE", f"/api/lists/{self.options.list_id}/relationships/profiles",
                              json={"data": [{"type": "profile", "id": pid} for pid in present]}, ok=(204,))
        # a profile Klaviyo does not know is not in the list either: the removal holds
        return BatchResult(ok={key: pid for key, pid in ids.items()})


@hookimpl
def register_destinations():
    return [DestinationDef(
        "klaviyo", KlaviyoOptions, KlaviyoClient, secrets=("api_key",),
        replay="list adds and removes are idempotent and the profile import is an upsert: a replay "
        "creates another import job but no duplicate profile or membership",
        doc="A Klaviyo list: profile bulk import (+ list) and removal by profile id.")]
