"""Built-in destination ``mailchimp``: a static segment of a Mailchimp audience (Marketing API 3.0).

* add: batch subscribe ``POST /3.0/lists/{list_id}`` (<= 500 members, ``update_existing``, new
  members get ``status_if_new``; existing members keep their status), then
  ``POST /3.0/lists/{list_id}/segments/{segment_id}`` with ``members_to_add``; ``errors[]`` of both
  become rejected rows with Mailchimp's reason;
* update / upsert mode: the batch subscribe only (merge fields);
* remove: ``members_to_remove`` of the static segment (the contact stays in the audience);
* rate limits: Mailchimp limits concurrent connections and answers a bare 429 — or a bare 403
  without a body — with no header: both are retried with backoff.

Replay: batch subscribe with ``update_existing`` and segment add/remove are idempotent.
"""

from __future__ import annotations

from typing import Literal

import httpx
from pydantic import Field, SecretStr

from segrules.plugin import BatchResult, DestinationDef, Limits, Row, SyncContext, hookimpl
from segrules.sync.http import HttpClient, HttpDestination, HttpOptions, Vendor


class MailchimpOptions(HttpOptions):
    api_key: SecretStr = Field(description="API key: ${MAILCHIMP_API_KEY} (ends with -<dc>).")
    list_id: str = Field(description="The audience (list) id.")
    segment_id: str = Field(description="A static segment of that audience: the synced members.")
    base_url: str | None = Field(None, description="Default https://<dc>.api.mailchimp.com from the key.")
    status_if_new: Literal["subscribed", "transactional", "pending", "unsubscribed"] = Field(
        "subscribed", description="Status of people new to the audience; existing members keep theirs.")


def rate_limited(response: httpx.Response) -> bool:
    """Mailchimp under load: a 429, or a 403 without a body (a real 403 has a problem document)."""
    return response.status_code == 429 or (response.status_code == 403 and not response.content)


class MailchimpClient(HttpDestination):
    def __init__(self, options: MailchimpOptions, context: SyncContext):
        self.options, self.context = options, context
        key = options.api_key.get_secret_value()
        base = options.base_url or f"https://{key.rpartition('-')[2]}.api.mailchimp.com"
        self.limits = Limits(500, 9_000_000, options.concurrency or 4)  # 10 connections per user at most
        self.http = HttpClient(base, options, Vendor("mailchimp", is_rate_limited=rate_limited, wait=lambda r: None),
                               auth=httpx.BasicAuth("segrules", key), secrets=(key,))

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        by_email = {r.identifier: r.key for r in rows}
        rejected: dict[str, str] = {}
        if op != "remove":
            body = {"members": [{"email_address": r.identifier, "status_if_new": self.options.status_if_new,
                                 "merge_fields": r.fields} for r in rows], "update_existing": True}
            answer = self.http.request("POST", f"/3.0/lists/{self.options.list_id}", json=body).json()
            for error in answer.get("errors") or []:
                key = by_email.get((error.get("email_address") or "").lower())
                if key is not None:
                    rejected[key] = error.get("error") or error.get("error_code") or "rejected by Mailchimp"
        if op in ("add", "remove"):
            emails = [r.identifier for r in rows if r.key not in rejected]
            field = "members_to_add" if op == "add" else "members_to_remove"
            if emails:
                answer = self.http.request("POST", f"/3.0/lists/{self.options.list_id}/segments/{self.options.segment_id}",
                                           json={field: emails}).json()
                for error in answer.get("errors") or []:
                    for email in error.get("email_addresses") or []:
                        key = by_email.get(email.lower())
                        if key is not None:
                            rejected[key] = error.get("error") or "rejected by Mailchimp"
        return BatchResult.except_rejected(rows, rejected)


@hookimpl
def register_destinations():
    return [DestinationDef(
        "mailchimp", MailchimpOptions, MailchimpClient, secrets=("api_key",), identifiers=("email",),
        replay="batch subscribe (update_existing) and static-segment add/remove are idempotent: a replay "
        "changes nothing twice",
        doc="A static segment of a Mailchimp audience: batch subscribe + segment members.")]
