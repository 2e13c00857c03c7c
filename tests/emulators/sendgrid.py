"""A SendGrid emulator: Marketing Campaigns contacts, lists and import jobs, per SendGrid's
official OpenAPI document (``oai_v3_stoplight.json``) and its rate-limit documentation.

* auth: ``Authorization: Bearer <key>`` (401 ``{"errors": [...]}`` otherwise);
* ``PUT /v3/marketing/contacts``: <= 30,000 contacts and 6 MB (400 / 413 beyond); a custom field id
  that does not exist (``custom_fields`` says which do) or an email in ``refuse_emails`` refuses
  the whole request (400 ``{"errors": [{"field", "message"}]}``); otherwise 202 ``{"job_id"}``;
  contacts are upserted by (lower-cased) email, each new one gets an id, and are put in the
  ``list_ids``; an email in ``reject_emails`` is not imported but counted in the job's
  ``errored_count`` and listed in the CSV at ``errors_url`` (``email,error``);
* ``GET /v3/marketing/contacts/imports/{id}``: ``pending`` for ``job_polls`` polls, then
  ``completed`` (or ``errored`` when a contact failed);
* ``POST /v3/marketing/contacts/search/emails``: <= 100 emails; 200 with the found ones (and an
  ``error`` entry per missing one), 404 when none is found;
* ``DELETE /v3/marketing/lists/{id}/contacts?contact_ids=a,b``: 202 ``{"job_id"}``;
* every response carries ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (epoch seconds); more than
  ``burst`` requests in one second -> 429 ``{"errors": [{"field": null, "message": "too many requests"}]}``;
* ``validator``: callable(request) -> problems (the official OpenAPI document through
  ``openapi.openapi_validator``), problems kept in ``invalid`` and answered 400.
"""

from __future__ import annotations

import itertools
import math
import re
import time
import uuid
from typing import Callable

from .server import EmulatorServer, Faults, Reply, Request

MAX_CONTACTS, MAX_BYTES, MAX_SEARCH = 30_000, 6_000_000, 100


def _error(status: int, message: str, field: str | None = None, headers: dict | None = None) -> Reply:
    return Reply(status, {"errors": [{"field": field, "message": message}]}, headers)


class SendGridEmulator(EmulatorServer):
    def __init__(self, api_key: str, *, faults: Faults | None = None, burst: int | None = None, job_polls: int = 1,
                 reject_emails: set[str] | None = None, refuse_emails: set[str] | None = None,
                 custom_fields: set[str] | None = None, validator: Callable[[Request], list[str]] | None = None):
        super().__init__(faults)
        self.api_key, self.burst, self.job_polls = api_key, burst, job_polls
        self.reject_emails = set(reject_emails or ())
        self.refuse_emails = set(refuse_emails or ())
        self.custom_fields = set(custom_fields or ())
        self.validator = validator
        self.invalid: list[str] = []
        self.contacts: dict[str, dict] = {}  # contact id -> {"email", fields..., "custom_fields"}
        self.by_email: dict[str, str] = {}
        self.lists: dict[str, set[str]] = {}
        self.jobs: dict[str, dict] = {}
        self._ids = itertools.count(1)

    # -- helpers for tests ---------------------------------------------------------------
    def create_list(self, list_id: str) -> None:
        self.lists.setdefault(list_id, set())

    def list_emails(self, list_id: str) -> set[str]:
        return {self.contacts[c]["email"] for c in self.lists.get(list_id, ())}

    def _headers(self) -> dict[str, str]:
        limit = self.burst or 600
        return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(self.remaining(limit)),
                "X-RateLimit-Reset": str(math.ceil(time.time() + self.reset_in()))}

    def rate_limited(self):
        return 429, {"errors": [{"field": None, "message": "too many requests"}]}, self._headers()

    # -- the API ---------------------------------------------------------------------------
    def handle(self, request: Request):
        if request.method == "GET" and request.path.startswith("/errors/"):  # the signed download URL
            return self._errors_file(request.path.rsplit("/", 1)[-1].removesuffix(".csv"))
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            raise _error(401, "authorization required")
        if self.validator is not None:
            problems = self.validator(request)
            if problems:
                self.invalid.extend(problems)
                raise _error(400, "; ".join(problems))
        if self.over_burst(self.burst):
            return self.rate_limited()
        with self.lock:
            headers = self._headers()
            path, method = request.path, request.method
            if path == "/v3/marketing/contacts" and method == "PUT":
                return (*self._upsert(request, headers), headers)
            m = re.fullmatch(r"/v3/marketing/contacts/imports/([^/]+)", path)
            if m and method == "GET":
                return (*self._job(m.group(1)), headers)
            if path == "/v3/marketing/contacts/search/emails" and method == "POST":
                return (*self._search(request), headers)
            m = re.fullmatch(r"/v3/marketing/lists/([^/]+)/contacts", path)
            if m and method == "DELETE":
                return (*self._remove(m.group(1), request), headers)
        raise _error(404, f"{request.method} {request.path} not found")

    def _upsert(self, request: Request, headers: dict):
        if len(request.body) > MAX_BYTES:
            raise _error(413, "request body is larger than 6 MB", headers=headers)
        body = request.json()
        contacts = body.get("contacts") or []
        if not 1 <= len(contacts) <= MAX_CONTACTS:
            raise _error(400, f"contacts must hold 1 to {MAX_CONTACTS} items", "contacts", headers)
        lists = body.get("list_ids") or []
        for list_id in lists:
            if list_id not in self.lists:
                raise _error(404, f"list {list_id} does not exist", "list_ids", headers)
        for i, contact in enumerate(contacts):
            unknown = sorted(set(contact.get("custom_fields") or {}) - self.custom_fields)
            if unknown:
                raise _error(400, f"custom field ID {unknown[0]} does not exist", f"contacts[{i}].custom_fields",
                             headers)
            if str(contact.get("email", "")).lower() in self.refuse_emails:
                raise _error(400, "email address is invalid", f"contacts[{i}].email", headers)
        errors = []
        for contact in contacts:
            email = str(contact["email"]).lower()
            if email in self.reject_emails:
                errors.append((email, "email address is not deliverable"))
                continue
            cid = self.by_email.get(email)
            if cid is None:
                cid = str(uuid.UUID(int=next(self._ids)))
                self.by_email[email] = cid
                self.contacts[cid] = {"email": email, "custom_fields": {}}
            record = self.contacts[cid]
            record.update({k: v for k, v in contact.items() if k not in ("email", "custom_fields")})
            record["custom_fields"].update(contact.get("custom_fields") or {})
            for list_id in lists:
                self.lists[list_id].add(cid)
        job_id = str(uuid.uuid4())
        self.jobs[job_id] = {"polls": 0, "requested": len(contacts), "errors": errors}
        return 202, {"job_id": job_id}

    def _job(self, job_id: str):
        job = self.jobs.get(job_id)
        if job is None:
            raise _error(404, f"job {job_id} not found")
        job["polls"] += 1
        done = job["polls"] > self.job_polls
        status = "pending" if not done else ("errored" if job["errors"] else "completed")
        results = {"requested_count": job["requested"], "created_count": 0, "updated_count": 0, "deleted_count": 0,
                   "errored_count": len(job["errors"]) if done else 0}
        if done and job["errors"]:
            results["errors_url"] = f"{self.url}/errors/{job_id}.csv"
        return 200, {"id": job_id, "status": status, "job_type": "upsert", "results": results,
                     "started_at": "2026-11-01T00:00:00Z", "finished_at": "2026-11-01T00:00:01Z" if done else None}

    def _errors_file(self, job_id: str):
        job = self.jobs.get(job_id)
        if job is None:
            raise _error(404, "not found")
        lines = ["email,error"] + [f"{email},{why}" for email, why in job["errors"]]
        raise _Text("\n".join(lines) + "\n")

    def _search(self, request: Request):
        emails = (request.json() or {}).get("emails") or []
        if not 1 <= len(emails) <= MAX_SEARCH:
            raise _error(400, f"emails must hold 1 to {MAX_SEARCH} items", "emails")
        result = {}
        for email in emails:
            cid = self.by_email.get(str(email).lower())
            result[email] = {"contact": {"id": cid, **self.contacts[cid]}} if cid else {"error": "contact not found"}
        if not any("contact" in r for r in result.values()):
            raise _error(404, "No contacts found")
        return 200, {"result": result}

    def _remove(self, list_id: str, request: Request):
        if list_id not in self.lists:
            raise _error(404, f"list {list_id} does not exist")
        ids = [i for i in (request.query.get("contact_ids") or [""])[0].split(",") if i]
        if not ids:
            raise _error(400, "contact_ids is required", "contact_ids")
        self.lists[list_id].difference_update(ids)
        return 202, {"job_id": str(uuid.uuid4())}


class _Text(Reply):
    """A CSV answer (the errors file), not JSON."""

    def __init__(self, text: str):
        super().__init__(200, text.encode(), {"Content-Type": "text/csv"})
