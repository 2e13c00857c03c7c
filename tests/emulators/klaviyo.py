"""A Klaviyo emulator: profiles, lists and bulk profile import jobs, per the contract in the
official OpenAPI spec (revision 2026-07-15) and Klaviyo's rate-limit documentation.

* auth: ``Authorization: Klaviyo-API-Key <key>`` (401 otherwise) and a ``revision`` header (400);
* ``POST /api/profile-bulk-import-jobs``: <= 10,000 profiles and 5 MB (413 beyond), 202 + a job that
  reports ``queued``/``processing`` for ``job_polls`` polls, then ``complete``; profiles whose email
  is in ``reject_emails`` (or malformed) become import errors (``/import-errors``);
* ``GET /api/profiles?filter=any(email,[...])``: <= 100 per page;
* ``POST``/``DELETE /api/lists/{id}/relationships/profiles``: <= 1,000 profile ids, 204, idempotent;
* rate limit: more than ``burst`` requests in one second -> 429 with ``Retry-After``;
* ``validator``: optional callable(request) -> list of problems; a problem answers 400 and is kept
  in ``invalid`` (tests validate every request against the official OpenAPI spec with it).
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Callable

from .server import EmulatorServer, Faults, Reply, Request

JSONAPI = "application/vnd.api+json"
FILTER = re.compile(r'^any\((email|external_id|phone_number),\[(.*)\]\)$')
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_IMPORT, MAX_IMPORT_BYTES, MAX_LIST_IDS, MAX_PAGE = 10_000, 5_000_000, 1_000, 100


def _error(status: int, code: str, detail: str) -> Reply:
    return Reply(status, {"errors": [{"id": "e", "status": status, "code": code, "title": code, "detail": detail,
                                      "source": {"pointer": "/data"}}]})


class KlaviyoEmulator(EmulatorServer):
    json_type = JSONAPI

    def __init__(self, api_key: str, *, faults: Faults | None = None, burst: int | None = None,
                 retry_after: int = 1, job_polls: int = 2, reject_emails: set[str] | None = None,
                 validator: Callable[[Request], list[str]] | None = None):
        super().__init__(faults)
        self.api_key, self.burst, self.retry_after, self.job_polls = api_key, burst, retry_after, job_polls
        self.reject_emails = set(reject_emails or ())
        self.validator = validator
        self.invalid: list[str] = []
        self.profiles: dict[str, dict] = {}  # id -> attributes
        self.by_email: dict[str, str] = {}
        self.lists: dict[str, set[str]] = {}
        self.jobs: dict[str, dict] = {}
        self.import_sizes: list[int] = []
        self._ids = itertools.count(1)

    # -- helpers for tests ---------------------------------------------------------------
    def create_list(self, list_id: str) -> None:
        self.lists.setdefault(list_id, set())

    def list_emails(self, list_id: str) -> set[str]:
        return {self.profiles[p].get("email") for p in self.lists.get(list_id, ())}

    def rate_limited(self):
        return 429, {"errors": [{"status": 429, "code": "throttled", "title": "Request was throttled.",
                                 "detail": f"Request was throttled. Expected available in {self.retry_after} seconds."}]}, \
            {"Retry-After": str(self.retry_after)}

    # -- the API ---------------------------------------------------------------------------
    def handle(self, request: Request):
        if request.headers.get("authorization") != f"Klaviyo-API-Key {self.api_key}":
            raise _error(401, "not_authenticated", "Missing or invalid private key.")
        if not request.headers.get("revision"):
            raise _error(400, "invalid", "Missing revision header.")
        if self.validator is not None:
            problems = self.validator(request)
            if problems:
                self.invalid.extend(problems)
                raise _error(400, "invalid", "; ".join(problems))
        if self.over_burst(self.burst):
            return self.rate_limited()
        path, method = request.path, request.method
        with self.lock:
            if path == "/api/profile-bulk-import-jobs" and method == "POST":
                return self._import(request)
            m = re.fullmatch(r"/api/profile-bulk-import-jobs/([^/]+)(/import-errors)?", path)
            if m and method == "GET":
                return self._job(m.group(1), bool(m.group(2)))
            if path == "/api/profiles" and method == "GET":
                return self._profiles(request)
            m = re.fullmatch(r"/api/lists/([^/]+)/relationships/profiles", path)
            if m and method in ("POST", "DELETE"):
                return self._membership(m.group(1), method, request)
        raise _error(404, "not_found", f"{method} {path}")

    def _import(self, request: Request):
        if len(request.body) > MAX_IMPORT_BYTES:
            raise _error(413, "payload_too_large", "Payload exceeds 5 MB.")
        data = request.json()["data"]
        profiles = data["attributes"]["profiles"]["data"]
        if len(profiles) > MAX_IMPORT:
            raise _error(400, "invalid", f"At most {MAX_IMPORT} profiles per job.")
        self.import_sizes.append(len(profiles))
        lists = [d["id"] for d in data.get("relationships", {}).get("lists", {}).get("data", [])]
        for list_id in lists:
            if list_id not in self.lists:
                raise _error(404, "not_found", f"List {list_id} does not exist.")
        errors, ids = [], []
        for i, profile in enumerate(profiles):
            attrs = profile["attributes"]
            email = attrs.get("email")
            if email is None or not EMAIL.match(email) or email in self.reject_emails:
                errors.append({"type": "import-error", "id": f"ie{len(errors)}", "attributes": {
                    "code": "invalid", "title": "Invalid input.", "detail": f"Invalid email address {email!r}.",
                    "source": {"pointer": f"/data/attributes/profiles/data/{i}"}, "original_payload": attrs}})
                continue
            pid = self.by_email.get(email)
            if pid is None:
                pid = f"01K{next(self._ids):023d}"
                self.by_email[email] = pid
                self.profiles[pid] = {}
            props = attrs.get("properties") or {}
            self.profiles[pid].update({k: v for k, v in attrs.items() if k != "properties"})
            self.profiles[pid].setdefault("properties", {}).update(props)
            ids.append(pid)
            for list_id in lists:
                self.lists[list_id].add(pid)
        job_id = f"job{len(self.jobs) + 1}"
        self.jobs[job_id] = {"polls": 0, "total": len(profiles), "errors": errors, "ids": ids}
        return 202, {"data": self._job_resource(job_id)}

    def _job_resource(self, job_id: str) -> dict:
        job = self.jobs[job_id]
        status = "complete" if job["polls"] > self.job_polls else ("processing" if job["polls"] else "queued")
        done = status == "complete"
        return {"type": "profile-bulk-import-job", "id": job_id, "attributes": {
            "status": status, "total_count": job["total"],
            "completed_count": job["total"] - len(job["errors"]) if done else 0,
            "failed_count": len(job["errors"]) if done else 0, "created_at": "2026-11-01T00:00:00+00:00",
            "started_at": None, "completed_at": None, "expires_at": None}}

    def _job(self, job_id: str, errors: bool):
        if job_id not in self.jobs:
            raise _error(404, "not_found", f"Job {job_id} does not exist.")
        if errors:
            return 200, {"data": self.jobs[job_id]["errors"], "links": {"self": "", "next": None, "prev": None}}
        self.jobs[job_id]["polls"] += 1
        return 200, {"data": self._job_resource(job_id)}

    def _profiles(self, request: Request):
        m = FILTER.match((request.query.get("filter") or [""])[0])
        if not m:
            raise _error(400, "invalid", "Unsupported filter.")
        field = m.group(1)
        values = json.loads(f"[{m.group(2)}]")
        size = int((request.query.get("page[size]") or ["20"])[0])
        if size > MAX_PAGE or len(values) > MAX_PAGE:
            raise _error(400, "invalid", f"At most {MAX_PAGE} per page.")
        if field == "email":  # indexed
            ids = sorted(self.by_email[v] for v in set(values) if v in self.by_email)  # ids sort by creation
            found = [(pid, self.profiles[pid]) for pid in ids][:size]
        else:
            wanted = set(values)
            found = [(pid, a) for pid, a in self.profiles.items() if a.get(field) in wanted][:size]
        return 200, {"data": [{"type": "profile", "id": pid, "attributes": {
            k: a.get(k) for k in ("email", "phone_number", "external_id")}} for pid, a in found],
            "links": {"self": "", "next": None, "prev": None}}

    def _membership(self, list_id: str, method: str, request: Request):
        if list_id not in self.lists:
            raise _error(404, "not_found", f"List {list_id} does not exist.")
        data = request.json()["data"]
        if len(data) > MAX_LIST_IDS:
            raise _error(400, "invalid", f"At most {MAX_LIST_IDS} profiles per request.")
        ids = [d["id"] for d in data]
        unknown = [i for i in ids if i not in self.profiles]
        if unknown:
            raise _error(400, "invalid", f"Profiles do not exist: {', '.join(unknown[:3])}")
        members = self.lists[list_id]
        (members.update if method == "POST" else members.difference_update)(ids)
        return 204, None
