"""A Braze emulator: ``POST /users/track`` with attribute objects, including array attribute
operations (``{"audiences": {"add": [...]}}``), per Braze's REST API documentation.

* auth: ``Authorization: Bearer <key>`` (401 with a fatal message otherwise);
* at most ``max_objects`` (75) attribute objects per request: 400 "Max Input Length Exceeded";
  4 MB payload: 413;
* an object without an identifier, or whose email is in ``reject_emails``, is skipped and
  reported in ``errors`` of a 201 ``{"message": "success"}`` (minor errors, others processed);
* rate limit: more than ``burst`` requests in one second -> 429; every response carries
  ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (epoch seconds).
"""

from __future__ import annotations

import math
import time

from .server import EmulatorServer, Faults, Reply, Request

MAX_BYTES = 4 * 1024 * 1024


class BrazeEmulator(EmulatorServer):
    def __init__(self, api_key: str, *, faults: Faults | None = None, burst: int | None = None,
                 max_objects: int = 75, reject_emails: set[str] | None = None):
        super().__init__(faults)
        self.api_key, self.burst, self.max_objects = api_key, burst, max_objects
        self.reject_emails = set(reject_emails or ())
        self.users: dict[str, dict] = {}  # identifier -> attributes

    def audience(self, attribute: str, name: str) -> set[str]:
        return {uid for uid, attrs in self.users.items() if name in (attrs.get(attribute) or [])}

    def _headers(self, remaining: int) -> dict[str, str]:
        reset = math.ceil(time.time() + self.reset_in())  # when a slot frees
        return {"X-RateLimit-Limit": str(self.burst or 250000), "X-RateLimit-Remaining": str(max(0, remaining)),
                "X-RateLimit-Reset": str(reset)}

    def rate_limited(self):
        return 429, {"message": "Rate limit exceeded", "errors": []}, self._headers(0)

    def handle(self, request: Request):
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            raise Reply(401, {"message": "Invalid API key", "errors": []})
        if self.over_burst(self.burst):
            return self.rate_limited()
        with self.lock:
            headers = self._headers(self.remaining(self.burst or 250000))
            if request.method != "POST" or request.path != "/users/track":
                raise Reply(404, {"message": "Not found", "errors": []}, headers)
            if len(request.body) > MAX_BYTES:
                raise Reply(413, {"message": "Request Entity Too Large", "errors": []}, headers)
            objects = request.json().get("attributes") or []
            if len(objects) > self.max_objects:
                raise Reply(400, {"message": "Max Input Length Exceeded", "errors": []}, headers)
            errors = []
            for index, obj in enumerate(objects):
                uid = obj.get("external_id") or obj.get("email")
                if not uid:
                    errors.append({"type": "'external_id' or 'braze_id' or 'user_alias' is required",
                                   "input_array": "attributes", "index": index})
                    continue
                if obj.get("email") in self.reject_emails:
                    errors.append({"type": f"'{obj['email']}' is not a valid email address",
                                   "input_array": "attributes", "index": index})
                    continue
                user = self.users.setdefault(uid, {})
                for key, value in obj.items():
                    if key in ("external_id", "_update_existing_only"):
                        continue
                    if isinstance(value, dict) and ("add" in value or "remove" in value):
                        items = [v for v in user.get(key) or [] if v not in value.get("remove", [])]
                        items += [v for v in value.get("add", []) if v not in items]
                        user[key] = items
                    elif value is None:
                        user.pop(key, None)
                    else:
                        user[key] = value
            body = {"message": "success", "attributes_processed": len(objects) - len(errors)}
            if errors:
                body["errors"] = errors
            return 201, body, headers
