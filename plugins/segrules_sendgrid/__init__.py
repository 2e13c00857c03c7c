"""Built-in destination ``sendgrid``: a SendGrid Marketing Campaigns list, through the Contacts API.

* add / update: ``PUT /v3/marketing/contacts`` with the list in ``list_ids`` (an upsert of the
  contacts by email that also adds them to the list; <= 30,000 contacts and 6 MB) answers 202 with
  a ``job_id``; the job is polled (``GET /v3/marketing/contacts/imports/{id}``) until ``completed``,
  ``errored`` or ``failed``; the rows of the CSV at ``errors_url`` become rejected rows with
  SendGrid's message; the contact ids are then read with ``POST /v3/marketing/contacts/search/emails``
  (<= 100 emails) and kept as vendor ids;
* upsert mode: the same import without ``list_ids``;
* remove: ``DELETE /v3/marketing/lists/{id}/contacts?contact_ids=...`` by the remembered contact ids
  (searched when unknown; an email SendGrid does not know is not in the list either);
* fields: SendGrid's reserved fields (``first_name``, ``city``...) as such, every other field in
  ``custom_fields`` under its SendGrid field id (``custom_field_ids`` maps a field name to it, e.g.
  ``ltv: e1_N``; custom fields must exist in SendGrid);
* a 400 refuses the batch for its content (the engine splits it); 429 waits until
  ``X-RateLimit-Reset`` (epoch seconds).

Replay: the upsert is idempotent (a replay creates another job) and list removal is idempotent.
"""

from __future__ import annotations

import csv
import io

from pydantic import Field, SecretStr

from segrules.plugin import (BatchRejected, BatchResult, DestinationDef, HttpClient, HttpDestination, HttpOptions,
                             Limits, Row, SinkError, SyncContext, Vendor, hookimpl, iter_chunks, ratelimit_reset)

RESERVED = ("first_name", "last_name", "alternate_emails", "address_line_1", "address_line_2", "city",
            "state_province_region", "postal_code", "country")
MAX_CONTACTS, MAX_BYTES, MAX_SEARCH, MAX_REMOVE = 30_000, 5_500_000, 100, 100
DONE = ("completed", "errored", "failed")


class SendGridOptions(HttpOptions):
    api_key: SecretStr = Field(description="API key with Marketing access: ${SENDGRID_API_KEY}.")
    list_id: str = Field(description="The list (id) the audience is kept in.")
    base_url: str = Field("https://api.sendgrid.com", description="API base URL (EU: https://api.eu.sendgrid.com).")
    custom_field_ids: dict[str, str] = Field(default_factory=dict,
                                             description="Field name -> SendGrid custom field id (e.g. e1_N).")
    batch_size: int = Field(MAX_CONTACTS, ge=1, le=MAX_CONTACTS, description="Contacts per upsert job.")
    poll_interval: float = Field(1.0, ge=0, description="Seconds between polls of an import job.")
    job_timeout: float = Field(3600.0, gt=0, description="Longest wait for an import job, in seconds.")


def _errors_by_email(text: str) -> dict[str, str]:
    """email -> message from the errors CSV (the columns named like email and error/message)."""
    reader = csv.DictReader(io.StringIO(text))
    names = reader.fieldnames or []
    email_col = next((n for n in names if "email" in n.lower()), None)
    why_col = next((n for n in names if any(w in n.lower() for w in ("error", "message", "reason"))), None)
    if email_col is None:
        return {}
    return {row[email_col].strip().lower(): (row.get(why_col) or "rejected by SendGrid") if why_col else
            "rejected by SendGrid" for row in reader if row.get(email_col)}


class SendGridClient(HttpDestination):
    def __init__(self, options: SendGridOptions, context: SyncContext):
        self.options, self.context = options, context
        key = options.api_key.get_secret_value()
        self.concurrency = options.concurrency or 2
        self.http = HttpClient(options.base_url, options, Vendor("sendgrid", wait=ratelimit_reset),
                               headers={"Authorization": f"Bearer {key}"}, secrets=(key,))
        # errors_url is a signed download link, possibly on another host: fetched without the key
        self.download = HttpClient("", options, Vendor("sendgrid"), secrets=(key,))

    def close(self) -> None:
        self.http.close()
        self.download.close()

    def limits_for(self, op: str) -> Limits:
        if op == "remove":
            return Limits(min(MAX_REMOVE, self.options.batch_size), None, self.concurrency)
        return Limits(self.options.batch_size, MAX_BYTES, self.concurrency)

    def _contact(self, row: Row) -> dict:
        contact: dict = {"email": row.identifier}
        custom = {}
        for name, value in row.fields.items():
            if name in RESERVED:
                contact[name] = value
            else:
                custom[self.options.custom_field_ids.get(name, name)] = value
        if custom:
            contact["custom_fields"] = custom
        return contact

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        if op == "remove":
            return self._remove(rows)
        body: dict = {"contacts": [self._contact(r) for r in rows]}
        if op != "upsert":
            body["list_ids"] = [self.options.list_id]
        answer = self.http.request("PUT", "/v3/marketing/contacts", json=body, ok=(202, 400))
        if answer.status_code == 400:
            raise BatchRejected("sendgrid: " + self.http.scrubber.cut(self._messages(answer), 300))
        try:
            job_id = answer.json()["job_id"]
        except (ValueError, KeyError, TypeError):
            raise SinkError("sendgrid: PUT /v3/marketing/contacts answered 202 without a job_id: nothing "
                            "acknowledged", code="SR825") from None
        job = self.http.poll(f"/v3/marketing/contacts/imports/{job_id}", lambda b: b.get("status") in DONE,
                             interval=self.options.poll_interval, timeout=self.options.job_timeout)
        if job["status"] == "failed":
            raise SinkError(f"sendgrid: import job {job_id} failed", code="SR824")
        results = job.get("results") or {}
        rejected: dict[str, str] = {}
        errored = int(results.get("errored_count") or 0)
        if errored:
            url = results.get("errors_url")
            errors = _errors_by_email(self.download.request("GET", url).text) if url else {}
            by_email = {r.identifier: r.key for r in rows}
            rejected = {by_email[e]: self.http.scrubber.cut(why, 300) for e, why in errors.items() if e in by_email}
            if len(rejected) != errored:  # the error file does not name every failed contact
                return BatchResult.from_errors(rows, rejected, complete=False)
        ids = self._resolve([r.identifier for r in rows if r.key not in rejected])
        return BatchResult(ok={r.key: ids[r.identifier] for r in rows if r.identifier in ids and r.key not in rejected},
                           rejected=rejected)

    @staticmethod
    def _messages(answer) -> str:
        try:
            return "; ".join(str(e.get("message", "")) for e in answer.json()["errors"])
        except (ValueError, KeyError, TypeError, AttributeError):
            return answer.text

    def _resolve(self, emails: list[str]) -> dict[str, str]:
        """email -> SendGrid contact id (100 emails per search; 404 when none is found)."""
        ids: dict[str, str] = {}
        for chunk in iter_chunks(emails, MAX_SEARCH):
            answer = self.http.request("POST", "/v3/marketing/contacts/search/emails", json={"emails": list(chunk)},
                                       ok=(200, 404))
            if answer.status_code == 404:
                continue
            try:
                result = answer.json()["result"]
            except (ValueError, KeyError, TypeError):
                raise SinkError("sendgrid: contacts/search/emails answered 200 without a result: nothing "
                                "acknowledged", code="SR825") from None
            for email, found in (result or {}).items():
                contact = (found or {}).get("contact") or {}
                if contact.get("id"):
                    ids[email.lower()] = contact["id"]
        return ids

    def _remove(self, rows: list[Row]) -> BatchResult:
        missing = [r.identifier for r in rows if not r.vendor_id]
        resolved = self._resolve(missing) if missing else {}
        ids = {r.key: r.vendor_id or resolved.get(r.identifier) for r in rows}
        present = [cid for cid in ids.values() if cid]
        if present:
            self.http.request("DELETE", f"/v3/marketing/lists/{self.options.list_id}/contacts",
                              params={"contact_ids": ",".join(present)}, ok=(202, 204))
        # a contact SendGrid does not know is not in the list either: the removal holds
        return BatchResult(ok=ids)


@hookimpl
def register_destinations():
    return [DestinationDef(
        "sendgrid", SendGridOptions, SendGridClient, secrets=("api_key",), identifiers=("email",),
        replay="the contacts upsert is idempotent (a replay creates another import job) and list removal by "
        "contact id is idempotent: nothing changes twice",
        doc="A SendGrid Marketing list: contacts upsert job (+ list), contact ids remembered, removal by id.")]
