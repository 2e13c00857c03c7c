"""A Google Ads Customer Match emulator: user lists and OfflineUserDataJobs, per the Google Ads
API's ``offline_user_data_job_service.proto`` REST mappings and the Customer Match documentation.

* auth: ``Authorization: Bearer <token>`` and ``developer-token`` (401 ``UNAUTHENTICATED``);
* ``POST /{v}/customers/{cid}/offlineUserDataJobs:create``: a ``CUSTOMER_MATCH_USER_LIST`` job for
  an existing list (400 otherwise), consent required; answers ``{"resourceName"}``;
* ``POST /{v}/customers/{cid}/offlineUserDataJobs/{id}:addOperations``: only while the job is
  ``PENDING``; <= 100,000 identifiers per request and <= 20 per operation; an identifier that is not
  64 lower-case hex (or is in ``reject_hashes``) is an error: with ``enablePartialFailure`` a
  ``partialFailureError`` (GoogleAdsFailure naming ``operations[index]``) and the others are kept,
  without it a 400 and nothing is kept;
* ``:run`` answers a long-running operation name; the job reports ``RUNNING`` for ``job_polls``
  searches, then applies its operations in order (create adds, remove drops) and reports
  ``SUCCESS``; ``fail_jobs`` makes runs end ``FAILED`` instead;
* ``POST /{v}/customers/{cid}/googleAds:search`` with the GAQL query on
  ``offline_user_data_job.status`` by resource name;
* rate limit: more than ``burst`` requests in one second -> 429 ``RESOURCE_EXHAUSTED`` with
  ``quotaErrorDetails.retryDelay``.

The emulator keeps every request (``log``): tests search it for raw personal data.
"""

from __future__ import annotations

import itertools
import re

from .server import EmulatorServer, Faults, Reply, Request

HEX = re.compile(r"^[0-9a-f]{64}$")
MAX_IDENTIFIERS, MAX_PER_OPERATION = 100_000, 20
FAILURE = "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure"


def _status(code: int, status: str, message: str, errors: list | None = None) -> Reply:
    body = {"error": {"code": code, "message": message, "status": status}}
    if errors:
        body["error"]["details"] = [{"@type": FAILURE, "errors": errors}]
    return Reply(code, body)


class GoogleAdsEmulator(EmulatorServer):
    def __init__(self, access_token: str, developer_token: str, *, faults: Faults | None = None,
                 burst: int | None = None, retry_delay: str = "0s", job_polls: int = 1,
                 reject_hashes: set[str] | None = None, fail_jobs: bool = False):
        super().__init__(faults)
        self.access_token, self.developer_token = access_token, developer_token
        self.burst, self.retry_delay, self.job_polls, self.fail_jobs = burst, retry_delay, job_polls, fail_jobs
        self.reject_hashes = set(reject_hashes or ())
        self.lists: dict[str, set[tuple[str, str]]] = {}  # "customers/c/userLists/l" -> {(kind, hash)}
        self.jobs: dict[str, dict] = {}
        self._ids = itertools.count(1)

    # -- helpers for tests ---------------------------------------------------------------
    def create_list(self, customer_id: str, list_id: str) -> None:
        self.lists.setdefault(f"customers/{customer_id}/userLists/{list_id}", set())

    def members(self, customer_id: str, list_id: str) -> set[str]:
        return {h for _, h in self.lists.get(f"customers/{customer_id}/userLists/{list_id}", ())}

    def rate_limited(self):
        return 429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Resource has been exhausted",
                               "details": [{"@type": FAILURE, "errors": [{
                                   "errorCode": {"quotaError": "RESOURCE_EXHAUSTED"},
                                   "message": "Too many requests.",
                                   "details": {"quotaErrorDetails": {"rateScope": "DEVELOPER",
                                                                     "rateName": "Number of operations",
                                                                     "retryDelay": self.retry_delay}}}]}]}}

    # -- the API ---------------------------------------------------------------------------
    def handle(self, request: Request):
        if (request.headers.get("authorization") != f"Bearer {self.access_token}"
                or request.headers.get("developer-token") != self.developer_token):
            raise _status(401, "UNAUTHENTICATED", "Request is missing required authentication credential.")
        if self.over_burst(self.burst):
            return self.rate_limited()
        with self.lock:
            m = re.fullmatch(r"/v\d+/customers/(\d+)/offlineUserDataJobs:create", request.path)
            if m and request.method == "POST":
                return self._create(m.group(1), request.json() or {})
            m = re.fullmatch(r"/v\d+/(customers/\d+/offlineUserDataJobs/\d+):(addOperations|run)", request.path)
            if m and request.method == "POST":
                job = self.jobs.get(m.group(1))
                if job is None:
                    raise _status(404, "NOT_FOUND", f"{m.group(1)} not found")
                return self._add(job, request.json() or {}) if m.group(2) == "addOperations" else self._run(job)
            m = re.fullmatch(r"/v\d+/customers/(\d+)/googleAds:search", request.path)
            if m and request.method == "POST":
                return self._search((request.json() or {}).get("query", ""))
        raise _status(404, "NOT_FOUND", f"{request.method} {request.path}")

    def _create(self, customer_id: str, body: dict):
        job = body.get("job") or {}
        meta = job.get("customerMatchUserListMetadata") or {}
        if job.get("type") != "CUSTOMER_MATCH_USER_LIST" or meta.get("userList") not in self.lists:
            raise _status(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", [
                {"errorCode": {"offlineUserDataJobError": "INVALID_USER_LIST_ID"}, "message": "The user list is invalid."}])
        if not (meta.get("consent") or {}).get("adUserData"):
            raise _status(400, "INVALID_ARGUMENT", "Consent is required for Customer Match uploads.")
        name = f"customers/{customer_id}/offlineUserDataJobs/{next(self._ids)}"
        self.jobs[name] = {"list": meta["userList"], "status": "PENDING", "operations": [], "polls": 0}
        return 200, {"resourceName": name}

    def _add(self, job: dict, body: dict):
        if job["status"] != "PENDING":
            raise _status(400, "INVALID_ARGUMENT", "Operations can only be added to a PENDING job.", [
                {"errorCode": {"offlineUserDataJobError": "INVALID_JOB_STATUS"}, "message": "Job is not PENDING."}])
        operations = body.get("operations") or []
        identifiers = sum(len(next(iter(op.values()), {}).get("userIdentifiers") or []) for op in operations
                          if isinstance(op, dict))
        if identifiers > MAX_IDENTIFIERS:
            raise _status(400, "INVALID_ARGUMENT", f"At most {MAX_IDENTIFIERS} user identifiers per request.")
        errors, kept = [], []
        for index, op in enumerate(operations):
            problem = self._problem(op)
            if problem:
                errors.append({"errorCode": {"offlineUserDataJobError": problem[0]}, "message": problem[1],
                               "location": {"fieldPathElements": [{"fieldName": "operations", "index": index}]}})
            else:
                kept.append(op)
        if errors and not body.get("enablePartialFailure"):
            raise _status(400, "INVALID_ARGUMENT", "Request contains an invalid argument.", errors)
        job["operations"].extend(kept)
        if errors:
            return 200, {"partialFailureError": {"code": 3, "message": f"{len(errors)} operations failed",
                                                 "details": [{"@type": FAILURE, "errors": errors}]}}
        return 200, {}

    def _problem(self, op) -> tuple[str, str] | None:
        kinds = [k for k in ("create", "remove") if k in (op or {})]
        if len(kinds) != 1:
            return "INVALID_OPERATION", "An operation holds exactly one of create, remove."
        identifiers = op[kinds[0]].get("userIdentifiers") or []
        if not 1 <= len(identifiers) <= MAX_PER_OPERATION:
            return "TOO_MANY_USER_IDENTIFIERS", f"1 to {MAX_PER_OPERATION} user identifiers per operation."
        for identifier in identifiers:
            if len(identifier) != 1 or next(iter(identifier)) not in ("hashedEmail", "hashedPhoneNumber"):
                return "UNSUPPORTED_IDENTIFIER", "Each user identifier holds one hashedEmail or hashedPhoneNumber."
            value = next(iter(identifier.values()))
            if not HEX.match(str(value)) or value in self.reject_hashes:
                return "INVALID_SHA256_FORMAT", "The SHA256 encoded value is malformed."
        return None

    def _run(self, job: dict):
        if job["status"] != "PENDING":
            raise _status(400, "INVALID_ARGUMENT", "The job has already been run.")
        job["status"] = "RUNNING"
        return 200, {"name": f"customers/0/operations/{next(self._ids)}"}

    def _search(self, query: str):
        m = re.search(r"offline_user_data_job\.resource_name\s*=\s*'([^']+)'", query)
        if not m or "offline_user_data_job.status" not in query:
            raise _status(400, "INVALID_ARGUMENT", "Unsupported query.")
        job = self.jobs.get(m.group(1))
        if job is None:
            return 200, {"results": []}
        if job["status"] == "RUNNING":
            job["polls"] += 1
            if job["polls"] > self.job_polls:
                self._finish(job)
        found = {"resourceName": m.group(1), "status": job["status"]}
        if job["status"] == "FAILED":
            found["failureReason"] = "QUERY_ERROR"
        return 200, {"results": [{"offlineUserDataJob": found}], "fieldMask": "offlineUserDataJob.status"}

    def _finish(self, job: dict) -> None:
        if self.fail_jobs:
            job["status"] = "FAILED"
            return
        members = self.lists[job["list"]]
        for op in job["operations"]:
            kind = "create" if "create" in op else "remove"
            for identifier in op[kind]["userIdentifiers"]:
                item = next(iter(identifier.items()))
                (members.add if kind == "create" else members.discard)(item)
        job["status"] = "SUCCESS"
