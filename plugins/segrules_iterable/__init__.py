"""Built-in destination ``iterable``: an Iterable static list, through the Iterable API.

* add / update: ``POST /api/lists/subscribe`` (``subscribers`` with ``dataFields``: an upsert of
  the users that also adds them to the list; ``batch_size`` subscribers per call, 1,000 by
  default — Iterable states no limit);
* upsert mode: ``POST /api/users/bulkUpdate`` (the fields only, no list);
* remove: ``POST /api/lists/unsubscribe`` with ``channelUnsubscribe: false`` (the users keep their
  channel subscriptions);
* per-row failures inside the 200 answer (``failCount``, ``failedUpdates``: invalid, forgotten,
  conflicting... emails or user ids) become rejected rows with the category as reason; a removal
  of a user Iterable does not know (``notFound``) holds; an answer whose counts do not add up to
  the rows sent acknowledges only what it names;
* a 400 (``BadParams``, ``BatchTooLarge``...) refuses the batch for its content: the engine splits
  it; rate limit: 429 with ``code: RateLimitExceeded`` (no headers), retried with backoff.

Replay: subscribe, unsubscribe and bulk update are idempotent (merge semantics).
"""

from __future__ import annotations

from pydantic import Field, SecretStr

from segrules.plugin import (BatchRejected, BatchResult, DestinationDef, HttpClient, HttpDestination, HttpOptions,
                             Limits, Row, SinkError, SyncContext, Vendor, hookimpl)

FAILED = ("invalid", "notFound", "forgotten", "conflict", "invalidData")  # failedUpdates categories


def _rate_limited(response) -> bool:
    if response.status_code == 429:
        return True
    try:
        return response.status_code < 500 and response.json().get("code") == "RateLimitExceeded"
    except (ValueError, AttributeError):
        return False


class IterableOptions(HttpOptions):
    api_key: SecretStr = Field(description="Server-side API key: ${ITERABLE_API_KEY}.")
    list_id: int = Field(description="The static list the audience is kept in.")
    base_url: str = Field("https://api.iterable.com", description="API base URL (EU: https://api.eu.iterable.com).")
    batch_size: int = Field(1_000, ge=1, le=10_000, description="Subscribers per call.")


class IterableClient(HttpDestination):
    def __init__(self, options: IterableOptions, context: SyncContext):
        self.options, self.context = options, context
        key = options.api_key.get_secret_value()
        self.by_email = context.identifier == "email"
        self.limits = Limits(options.batch_size, 3_500_000, options.concurrency or 2)
        self.http = HttpClient(options.base_url, options, Vendor("iterable", is_rate_limited=_rate_limited),
                               headers={"Api-Key": key}, secrets=(key,))

    def _user(self, row: Row, fields: bool) -> dict:
        user: dict = {"email": row.identifier} if self.by_email else {"userId": row.identifier}
        if fields and not self.by_email:
            user["preferUserId"] = True  # create the user by its id when Iterable does not know it
        if fields and row.fields:
            user["dataFields"] = row.fields
        return user

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        if op == "upsert":
            path, body = "/api/users/bulkUpdate", {"users": [self._user(r, True) for r in rows]}
        elif op == "remove":
            path, body = "/api/lists/unsubscribe", {"listId": self.options.list_id, "channelUnsubscribe": False,
                                                    "subscribers": [self._user(r, False) for r in rows]}
        else:
            path, body = "/api/lists/subscribe", {"listId": self.options.list_id, "updateExistingUsersOnly": False,
                                                  "subscribers": [self._user(r, True) for r in rows]}
        answer = self.http.request("POST", path, json=body, ok=(200, 400))
        try:
            result = answer.json()
        except ValueError:
            result = None
        if answer.status_code == 400:
            known = isinstance(result, dict) and (result.get("msg") or result.get("code"))
            reason = str(known) if known else answer.text
            raise BatchRejected("iterable: " + self.http.scrubber.cut(reason, 300))
        if not isinstance(result, dict) or not isinstance(result.get("successCount"), int):
            raise SinkError(f"iterable: {path} answered 200 without successCount: nothing acknowledged",
                            code="SR825")
        return self._outcome(op, rows, result)

    def _outcome(self, op: str, rows: list[Row], result: dict) -> BatchResult:
        suffix = "Emails" if self.by_email else "UserIds"
        failed = result.get("failedUpdates") or {}
        reasons: dict[str, str] = {}
        for value in result.get(f"invalid{suffix}") or []:
            reasons.setdefault(value, f"invalid {suffix[:-1].lower()}")
        for category in FAILED:
            for value in failed.get(category + suffix) or []:
                reasons.setdefault(value, f"{category} ({category}{suffix})")
        by_identifier = {r.identifier: r.key for r in rows}
        if op == "remove":  # a user Iterable does not know is not in the list either
            reasons = {v: why for v, why in reasons.items() if not why.startswith("notFound")}
        rejected = {by_identifier[v]: why for v, why in reasons.items() if v in by_identifier}
        fail_count = result.get("failCount", 0)
        named = len(rejected)
        if op == "remove":
            not_found = len(failed.get("notFound" + suffix) or [])
            fail_count -= not_found
            named_ok = result["successCount"] + not_found
        else:
            named_ok = result["successCount"]
        # a truncated or inconsistent failure list vouches only for the rows it names
        complete = fail_count == named and named_ok + named == len(rows)
        return BatchResult.from_errors(rows, rejected, complete=complete)


@hookimpl
def register_destinations():
    return [DestinationDef(
        "iterable", IterableOptions, IterableClient, secrets=("api_key",), identifiers=("email", "external_id"),
        replay="subscribe, unsubscribe and bulk update are idempotent: a replay changes nothing twice",
        doc="An Iterable static list: lists/subscribe and lists/unsubscribe; failedUpdates become rejected rows.")]
