"""Built-in destination ``mailchimp``: a static segment of a Mailchimp audience (Marketing API 3.0).

* add: batch subscribe ``POST /3.0/lists/{list_id}`` (<= 500 members, ``update_existing``, new
  members get ``status_if_new``; existing members keep their status), then
  ``POST /3.0/lists/{list_id}/segments/{segment_id}`` with ``members_to_add``; ``errors[]`` of both
  become rejected rows with Mailchimp's reason;
* update / upsert mode: the batch subscribe only (merge fields);
* or, with ``tag:`` instead of ``segment_id:``, the audience is a tag: ``POST
  /3.0/lists/{list_id}/members/{subscriber_hash}/tags`` (``active`` / ``inactive``), one call per
  member (204; 404 becomes a rejected row);
* remove: ``members_to_remove`` of the static segment, or the tag set inactive (the contact stays
  in the audience); with ``archive_removed: true`` the contact is also archived
  (``DELETE /3.0/lists/{list_id}/members/{subscriber_hash}``; already archived or gone is fine);
* rate limits: Mailchimp limits concurrent connections and answers a bare 429 — or a bare 403
  without a body — with no header: both are retried with backoff.

Replay: batch subscribe with ``update_existing`` and segment add/remove are idempotent.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, model_validator

from segrules.plugin import (BatchResult, DestinationDef, HttpClient, HttpDestination, HttpOptions, Limits, Row,
                             SyncContext, Vendor, hookimpl)

if TYPE_CHECKING:
    import httpx


class MailchimpOptions(HttpOptions):
    api_key: SecretStr = Field(description="API key: ${MAILCHIMP_API_KEY} (ends with -<dc>).")
    list_id: str = Field(description="The audience (list) id.")
    segment_id: str | None = Field(None, description="A static segment of that audience: the synced members.")
    tag: str | None = Field(None, description="Or: a tag that marks the synced members.")
    archive_removed: bool = Field(False, description="Also archive contacts that leave the audience.")
    base_url: str | None = Field(None, description="Default https://<dc>.api.mailchimp.com from the key.")
    status_if_new: Literal["subscribed", "transactional", "pending", "unsubscribed"] = Field(
        "subscribed", description="Status of people new to the audience; existing members keep theirs.")


    @model_validator(mode="after")
    def _one_membership(self):
        if (self.segment_id is None) == (self.tag is None):
            raise ValueError("give exactly one of segment_id (a static segment) and tag")
        return self


def subscriber_hash(email: str) -> str:
    """Mailchimp's member id: the MD5 of the lower-cased email."""
    return hashlib.md5(email.lower().encode()).hexdigest()


def rate_limited(response: httpx.Response) -> bool:
    """Mailchimp under load: a 429, or a 403 without a body (a real 403 has a problem document)."""
    return response.status_code == 429 or (response.status_code == 403 and not response.content)


class MailchimpClient(HttpDestination):
    def __init__(self, options: MailchimpOptions, context: SyncContext):
        self.options, self.context = options, context
        import httpx

        key = options.api_key.get_secret_value()
        base = options.base_url or f"https://{key.rpartition('-')[2]}.api.mailchimp.com"
        self.limits = Limits(500, 9_000_000, options.concurrency or 4)  # 10 connections per user at most
        self.http = HttpClient(base, options, Vendor("mailchimp", is_rate_limited=rate_limited, wait=lambda r: None),
                               auth=httpx.BasicAuth("segrules", key), secrets=(key,))

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        by_email = {r.identifier: r.key for r in rows}
        rejected: dict[str, str] = {}
        complete = True  # False when an answer's error_count exceeds the errors it lists
        if op != "remove":
            body = {"members": [{"email_address": r.identifier, "status_if_new": self.options.status_if_new,
                                 "merge_fields": r.fields} for r in rows], "update_existing": True}
            answer = self.http.request_json("POST", f"/3.0/lists/{self.options.list_id}", json=body)
            complete = (answer.get("error_count") or 0) <= len(answer.get("errors") or [])
            for error in answer.get("errors") or []:
                key = by_email.get((error.get("email_address") or "").lower())
                if key is not None:
                    rejected[key] = error.get("error") or error.get("error_code") or "rejected by Mailchimp"
        if op in ("add", "remove") and self.options.tag is not None:
            rejected.update(self._tag([r for r in rows if r.key not in rejected], op))
        elif op in ("add", "remove"):
            emails = [r.identifier for r in rows if r.key not in rejected]
            field = "members_to_add" if op == "add" else "members_to_remove"
            if emails:
                answer = self.http.request_json("POST", f"/3.0/lists/{self.options.list_id}/segments/{self.options.segment_id}",
                                           json={field: emails})
                listed = sum(len(e.get("email_addresses") or []) for e in answer.get("errors") or [])
                complete = complete and (answer.get("error_count") or 0) <= listed
                for error in answer.get("errors") or []:
                    for email in error.get("email_addresses") or []:
                        key = by_email.get(email.lower())
                        if key is not None:
                            rejected[key] = error.get("error") or "rejected by Mailchimp"
        if op == "remove" and self.options.archive_removed:
            for row in rows:
                self.http.request("DELETE", self._member(row), ok=(204, 404, 405))  # 405: archived already
        return BatchResult.from_errors(rows, rejected, complete=complete)

    def _member(self, row: Row) -> str:
        return f"/3.0/lists/{self.options.list_id}/members/{subscriber_hash(row.identifier)}"

    def _tag(self, rows: list[Row], op: str) -> dict[str, str]:
        status = "active" if op == "add" else "inactive"
        rejected = {}
        for row in rows:
            answer = self.http.request("POST", self._member(row) + "/tags", ok=(204, 404),
                                       json={"tags": [{"name": self.options.tag, "status": status}]})
            if answer.status_code == 404 and op == "add":
                rejected[row.key] = "not a member of the audience"
        return rejected


@hookimpl
def register_destinations():
    return [DestinationDef(
        "mailchimp", MailchimpOptions, MailchimpClient, secrets=("api_key",), identifiers=("email",),
        replay="batch subscribe (update_existing), static-segment add/remove, tag status and archiving are "
        "idempotent: a replay changes nothing twice",
        doc="A static segment (or a tag) of a Mailchimp audience: batch subscribe + membership.")]
