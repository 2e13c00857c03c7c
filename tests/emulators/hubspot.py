"""A HubSpot emulator: CRM contacts (batch upsert/read by email, <= 100 inputs) and Lists v3
manual-list memberships by record id, per HubSpot's v3 contract.

* auth: ``Authorization: Bearer <token>`` (401 otherwise);
* ``POST /crm/v3/objects/contacts/batch/upsert``: 200 with results, or **207** with ``errors[]`` and
  ``numErrors`` for inputs whose email is in ``reject_emails`` (or malformed);
* ``PUT /crm/v3/lists/{id}/memberships/add|remove``: a JSON array of record ids; unknown ids come
  back in ``recordIdsMissing``; idempotent;
* rate limit: more than ``burst`` requests in one second -> 429 with the policy body
  (``policyName: TEN_SECONDLY_ROLLING``) and no Retry-After.
"""

from __future__ import annotations

import itertools
import re

from .server import EmulatorServer, Faults, Reply, Request

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_INPUTS = 100


def _error(status: int, category: str, message: str) -> Reply:
    return Reply(status, {"status": "error", "message": message, "correlationId": "c0ffee", "category": category})


class HubSpotEmulator(EmulatorServer):
    def __init__(self, token: str, *, faults: Faults | None = None, burst: int | None = None,
                 reject_emails: set[str] | None = None, policy: str = "TEN_SECONDLY_ROLLING"):
        super().__init__(faults)
        self.token, self.burst, self.policy = token, burst, policy
        self.reject_emails = set(reject_emails or ())
        self.contacts: dict[str, dict] = {}
        self.by_email: dict[str, str] = {}
        self.lists: dict[str, set[str]] = {}
        self._ids = itertools.count(1501)

    def create_list(self, list_id: str) -> None:
        self.lists.setdefault(list_id, set())

    def list_emails(self, list_id: str) -> set[str]:
        return {self.contacts[r]["email"] for r in self.lists.get(list_id, ())}

    def rate_limited(self):
        return 429, {"status": "error", "message": f"You have reached your {self.policy.lower()} limit.",
                     "errorType": "RATE_LIMIT", "correlationId": "c0ffee", "policyName": self.policy}, {}

    def handle(self, request: Request):
        if request.headers.get("authorization") != f"Bearer {self.token}":
            raise _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        if self.over_burst(self.burst):
            return self.rate_limited()
        with self.lock:
            if request.method == "POST" and request.path == "/crm/v3/objects/contacts/batch/upsert":
                return self._upsert(request.json())
            if request.method == "POST" and request.path == "/crm/v3/objects/contacts/batch/read":
                return self._read(request.json())
            m = re.fullmatch(r"/crm/v3/lists/([^/]+)/memberships/(add|remove)", request.path)
            if m and request.method == "PUT":
                return self._membership(m.group(1), m.group(2), request.json())
        raise _error(404, "OBJECT_NOT_FOUND", f"{request.method} {request.path}")

    def _inputs(self, body) -> list[dict]:
        inputs = body.get("inputs") or []
        if len(inputs) > MAX_INPUTS:
            raise _error(400, "VALIDATION_ERROR", "The maximum number of inputs supported in a batch is 100")
        return inputs

    def _result(self, rid: str, new: bool = False) -> dict:
        return {"id": rid, "new": new, "properties": dict(self.contacts[rid]), "archived": False,
                "createdAt": "2026-11-01T00:00:00Z", "updatedAt": "2026-11-01T00:00:00Z"}

    def _upsert(self, body):
        results, errors = [], []
        for item in self._inputs(body):
            email = item.get("id")
            if item.get("idProperty") != "email" or not email or not EMAIL.match(email) or email in self.reject_emails:
                errors.append({"status": "error", "category": "VALIDATION_ERROR",
                               "message": f"Property values were not valid: email {email!r} is invalid",
                               "context": {"ids": [email]}, "errors": [], "links": {}})
                continue
            rid = self.by_email.get(email)
            new = rid is None
            if new:
                rid = str(next(self._ids))
                self.by_email[email] = rid
                self.contacts[rid] = {"email": email}
            self.contacts[rid].update({k: str(v) for k, v in (item.get("properties") or {}).items()})
            results.append(self._result(rid, new))
        answer = {"status": "COMPLETE", "results": results, "startedAt": "2026-11-01T00:00:00Z",
                  "completedAt": "2026-11-01T00:00:01Z"}
        if errors:
            answer.update(numErrors=len(errors), errors=errors)
            return 207, answer
        return 200, answer

    def _read(self, body):
        found = [self._result(self.by_email[i["id"]]) for i in self._inputs(body) if i.get("id") in self.by_email]
        return 200, {"status": "COMPLETE", "results": found}

    def _membership(self, list_id: str, action: str, ids):
        if list_id not in self.lists:
            raise _error(404, "OBJECT_NOT_FOUND", f"List {list_id} does not exist")
        known = [i for i in ids if i in self.contacts]
        missing = [i for i in ids if i not in self.contacts]
        members = self.lists[list_id]
        if action == "add":
            added = [i for i in known if i not in members]
            members.update(known)
            return 200, {"recordsIdsAdded": added, "recordIdsRemoved": [], "recordIdsMissing": missing}
        removed = [i for i in known if i in members]
        members.difference_update(known)
        return 200, {"recordsIdsAdded": [], "recordIdsRemoved": removed, "recordIdsMissing": missing}
