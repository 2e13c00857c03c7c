"""A Meta Custom Audiences emulator: ``/{audience_id}/users`` and ``usersreplace`` sessions, per
the Marketing API documentation and Meta's codegen spec (``CustomAudience.json``).

* auth: ``Authorization: Bearer <token>`` or ``access_token`` in the query (a Graph 400 with code
  190 otherwise);
* ``POST`` / ``DELETE /{v}/{audience_id}/users``: ``payload`` ``{"schema": "EMAIL_SHA256" |
  "PHONE_SHA256", "data": [...]}``, <= 10,000 rows (Graph error code 100 beyond); an entry that is
  not 64 lower-case hex (or is in ``reject_hashes``) is counted in ``num_invalid_entries`` of the
  200 answer, with at most ``sample_limit`` of them in ``invalid_entry_samples``;
* ``POST /{v}/{audience_id}/usersreplace``: ``session`` required (``session_id``, ``batch_seq``,
  ``last_batch_flag``); uploads are added at once, and when the batch flagged last arrives the
  audience becomes exactly what the session uploaded; ``GET /{v}/{audience_id}/sessions`` reports
  sessions;
* throttling is a Graph error, not a 429: more than ``burst`` requests in one second -> 400 with
  code 80003 and ``X-Business-Use-Case-Usage`` (``estimated_time_to_regain_access`` 0 minutes).

The emulator keeps every request (``log``): tests search it for raw personal data.
"""

from __future__ import annotations

import json
import re

from .server import EmulatorServer, Faults, Reply, Request

HEX = re.compile(r"^[0-9a-f]{64}$")
SCHEMAS = ("EMAIL_SHA256", "PHONE_SHA256")
MAX_ROWS = 10_000


def _graph(code: int, message: str, subcode: int | None = None, headers: dict | None = None) -> Reply:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return Reply(400, {"error": error}, headers)


class MetaEmulator(EmulatorServer):
    def __init__(self, access_token: str, *, faults: Faults | None = None, burst: int | None = None,
                 reject_hashes: set[str] | None = None, sample_limit: int = 10):
        super().__init__(faults)
        self.access_token, self.burst, self.sample_limit = access_token, burst, sample_limit
        self.reject_hashes = set(reject_hashes or ())
        self.audiences: dict[str, set[str]] = {}
        self.sessions: dict[tuple[str, int], dict] = {}

    # -- helpers for tests ---------------------------------------------------------------
    def create_audience(self, audience_id: str) -> None:
        self.audiences.setdefault(audience_id, set())

    def members(self, audience_id: str) -> set[str]:
        return set(self.audiences.get(audience_id, ()))

    def rate_limited(self):
        usage = {"1234567890": [{"type": "custom_audience", "call_count": 100, "total_cputime": 12,
                                 "total_time": 14, "estimated_time_to_regain_access": 0}]}
        return 400, {"error": {"message": "(#80003) There have been too many calls to this ad-account.",
                               "type": "OAuthException", "code": 80003, "error_subcode": 2446079,
                               "fbtrace_id": "AbCdEf"}}, {"X-Business-Use-Case-Usage": json.dumps(usage)}

    # -- the API ---------------------------------------------------------------------------
    def handle(self, request: Request):
        token = (request.query.get("access_token") or [None])[0]
        if request.headers.get("authorization") != f"Bearer {self.access_token}" and token != self.access_token:
            raise _graph(190, "Invalid OAuth access token - Cannot parse access token")
        if self.over_burst(self.burst):
            return self.rate_limited()
        with self.lock:
            m = re.fullmatch(r"/v[\d.]+/(\d+)/(users|usersreplace|sessions)", request.path)
            if not m or m.group(1) not in self.audiences:
                raise _graph(100, f"Unsupported request - {request.method} {request.path}", 33)
            audience, edge = m.group(1), m.group(2)
            if edge == "sessions" and request.method == "GET":
                wanted = int((request.query.get("session_id") or ["0"])[0])
                found = [{k: v for k, v in s.items() if k != "uploaded"} for (a, sid), s in self.sessions.items()
                         if a == audience and sid in (wanted, 0)]
                return 200, {"data": found}
            if edge == "users" and request.method in ("POST", "DELETE"):
                return self._users(audience, request.json() or {}, request.method == "POST")
            if edge == "usersreplace" and request.method == "POST":
                return self._replace(audience, request.json() or {})
        raise _graph(100, f"Unsupported request - {request.method} {request.path}")

    def _payload(self, body: dict) -> tuple[list[str], list[str]]:
        payload = body.get("payload")
        if not isinstance(payload, dict) or payload.get("schema") not in SCHEMAS:
            raise _graph(100, "(#100) Invalid parameter: payload.schema must be EMAIL_SHA256 or PHONE_SHA256")
        data = payload.get("data")
        if not isinstance(data, list) or not data:
            raise _graph(100, "(#100) Invalid parameter: payload.data is empty")
        if len(data) > MAX_ROWS:
            raise _graph(100, f"(#100) Too many users in the request: at most {MAX_ROWS}")
        valid = [v for v in data if isinstance(v, str) and HEX.match(v) and v not in self.reject_hashes]
        invalid = [v for v in data if v not in valid]
        return valid, invalid

    def _answer(self, audience: str, received: int, invalid: list, session_id=None) -> tuple:
        samples = {str(v): "Invalid hash: not a lower-case SHA-256 hex digest" for v in invalid[:self.sample_limit]}
        body = {"audience_id": audience, "num_received": received, "num_invalid_entries": len(invalid),
                "invalid_entry_samples": samples}
        if session_id is not None:
            body["session_id"] = str(session_id)
        return 200, body

    def _users(self, audience: str, body: dict, add: bool):
        valid, invalid = self._payload(body)
        members = self.audiences[audience]
        (members.update if add else members.difference_update)(valid)
        return self._answer(audience, len(valid) + len(invalid), invalid)

    def _replace(self, audience: str, body: dict):
        session = body.get("session")
        if not isinstance(session, dict) or not isinstance(session.get("session_id"), int):
            raise _graph(100, "(#100) session is required for usersreplace")
        valid, invalid = self._payload(body)
        key = (audience, session["session_id"])
        state = self.sessions.setdefault(key, {"session_id": str(session["session_id"]), "uploaded": set(),
                                               "num_received": 0, "num_invalid_entries": 0, "stage": "uploading"})
        if state["stage"] == "finished":
            raise _graph(100, "(#100) The replace session has already finished", 1870145)
        state["uploaded"].update(valid)
        state["num_received"] += len(valid) + len(invalid)
        state["num_invalid_entries"] += len(invalid)
        self.audiences[audience].update(valid)
        if session.get("last_batch_flag"):
            self.audiences[audience] = set(state["uploaded"])
            state["stage"] = "finished"
        return self._answer(audience, len(valid) + len(invalid), invalid, session["session_id"])
