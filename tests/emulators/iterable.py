"""An Iterable emulator: users and static lists, per Iterable's official API document
(``api-docs.json``, Swagger 2.0) and its rate-limit notes.

* auth: header ``Api-Key`` (401 ``{"code": "BadApiKey"}`` otherwise);
* ``POST /api/lists/subscribe``: ``subscribers`` by ``email`` or ``userId`` (``preferUserId``
  creates a user by id); users are upserted with their ``dataFields`` and put in the list; a
  malformed email, or one in ``reject_emails``, fails inside the 200 answer
  (``failCount``, ``failedUpdates.invalidEmails``, deprecated top-level ``invalidEmails``);
* ``POST /api/lists/unsubscribe``: users taken out of the list; unknown ones are
  ``failedUpdates.notFoundEmails`` / ``notFoundUserIds``; ``channelUnsubscribe: true`` is
  recorded in ``channel_unsubscribed`` (a test asserts it never happens);
* ``POST /api/users/bulkUpdate``: ``dataFields`` merged, failures as above;
* an unknown ``listId`` or a request the document does not allow -> 400 ``BadParams``; more than
  ``max_batch`` subscribers -> 400 ``BatchTooLarge``;
* rate limit: more than ``burst`` requests in one second -> 429 ``{"code": "RateLimitExceeded"}``
  without headers; ``failed_limit`` cuts the per-row failure lists to that many entries (a
  truncated answer, as a test needs);
* ``validator``: callable(request) -> problems (``openapi.swagger2_validator``), problems kept in
  ``invalid`` and answered 400.
"""

from __future__ import annotations

import re
from typing import Callable

from .server import EmulatorServer, Faults, Reply, Request

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
CATEGORIES = ("invalid", "notFound", "forgotten", "conflict", "invalidData")


def _error(status: int, code: str, msg: str) -> Reply:
    return Reply(status, {"code": code, "msg": msg, "params": {}})


class IterableEmulator(EmulatorServer):
    def __init__(self, api_key: str, *, faults: Faults | None = None, burst: int | None = None,
                 reject_emails: set[str] | None = None, max_batch: int = 10_000, failed_limit: int | None = None,
                 validator: Callable[[Request], list[str]] | None = None):
        super().__init__(faults)
        self.api_key, self.burst, self.max_batch, self.failed_limit = api_key, burst, max_batch, failed_limit
        self.reject_emails = set(reject_emails or ())
        self.validator = validator
        self.invalid: list[str] = []
        self.users: dict[str, dict] = {}  # "email:<e>" or "id:<u>" -> {"email", "userId", "dataFields"}
        self.lists: dict[int, set[str]] = {}
        self.channel_unsubscribed = 0

    # -- helpers for tests ---------------------------------------------------------------
    def create_list(self, list_id: int) -> None:
        self.lists.setdefault(int(list_id), set())

    def list_members(self, list_id: int) -> set[str]:
        """The list's members by email (or user id for users without one)."""
        return {self.users[k]["email"] or self.users[k]["userId"] for k in self.lists.get(int(list_id), ())}

    def rate_limited(self):
        return 429, {"code": "RateLimitExceeded", "msg": "Rate limit exceeded", "params": {}}

    # -- the API ---------------------------------------------------------------------------
    def handle(self, request: Request):
        if request.headers.get("api-key") != self.api_key:
            raise _error(401, "BadApiKey", "Invalid API key")
        if self.validator is not None:
            problems = self.validator(request)
            if problems:
                self.invalid.extend(problems)
                raise _error(400, "BadParams", "; ".join(problems))
        if self.over_burst(self.burst):
            return self.rate_limited()
        body = request.json() or {}
        with self.lock:
            if request.method == "POST" and request.path == "/api/lists/subscribe":
                return self._apply(body.get("subscribers") or [], body.get("listId"), "subscribe")
            if request.method == "POST" and request.path == "/api/lists/unsubscribe":
                if body.get("channelUnsubscribe"):
                    self.channel_unsubscribed += 1
                return self._apply(body.get("subscribers") or [], body.get("listId"), "unsubscribe")
            if request.method == "POST" and request.path == "/api/users/bulkUpdate":
                return self._apply(body.get("users") or [], None, "update")
        raise _error(404, "NotFound", f"{request.method} {request.path}")

    def _key(self, user: dict) -> tuple[str | None, str]:
        if user.get("email") is not None:
            return "email:" + str(user["email"]), "Emails"
        return ("id:" + str(user["userId"]) if user.get("userId") is not None else None), "UserIds"

    def _apply(self, users: list[dict], list_id, action: str):
        if action != "update" and list_id not in self.lists:
            raise _error(400, "BadParams", f"List {list_id} does not exist")
        if len(users) > self.max_batch:
            raise _error(400, "BatchTooLarge", f"At most {self.max_batch} users per request")
        failed = {c + s: [] for c in CATEGORIES for s in ("Emails", "UserIds")}
        success = 0
        for user in users:
            key, suffix = self._key(user)
            email = user.get("email")
            value = email if email is not None else user.get("userId")
            if key is None or (email is not None and (not EMAIL.match(email) or email in self.reject_emails)):
                failed["invalid" + suffix].append(value)
                continue
            if action == "unsubscribe":
                if key not in self.users:
                    failed["notFound" + suffix].append(value)
                    continue
                self.lists[list_id].discard(key)
            else:
                record = self.users.setdefault(key, {"email": email, "userId": user.get("userId"), "dataFields": {}})
                record["dataFields"].update(user.get("dataFields") or {})
                if action == "subscribe":
                    self.lists[list_id].add(key)
            success += 1
        fail_count = sum(len(v) for v in failed.values())
        if self.failed_limit is not None:
            failed = {k: v[:self.failed_limit] for k, v in failed.items()}
        return 200, {"successCount": success, "failCount": fail_count, "invalidEmails": failed["invalidEmails"],
                     "invalidUserIds": failed["invalidUserIds"], "createdFields": [], "filteredOutFields": [],
                     "failedUpdates": failed}
