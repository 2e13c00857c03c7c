"""A Customer.io emulator: the Journeys Track API's people and manual segments, per Customer.io's
Track API documentation (docs.customer.io/api/track/).

* auth: HTTP Basic ``site_id:api_key`` (401 ``{"meta": {"error": ...}}`` otherwise);
* ``POST /api/v2/batch``: ``identify`` entities (``identifiers`` ``id`` or ``email``), < 500 KB per
  request and 32 KB per entity; more than 300 attributes, an attribute name over 150 bytes or a
  value over 1,000 bytes, or an identifier in ``reject_ids``, refuse the WHOLE request with 400
  ``{"meta": {"error": ...}}``; each new person gets a ``cio_id``;
* ``POST /api/v1/segments/{id}/add_customers|remove_customers?id_type=id|email|cio_id``: 1..1,000
  ids; unknown ids are created on add; ids that do not fit ``id_type`` are silently ignored;
  the segment must exist (404);
* rate limit: more than ``burst`` requests in one second -> 429 without headers.
"""

from __future__ import annotations

import base64
import itertools
import json
import re

from .server import EmulatorServer, Faults, Reply, Request

MAX_BATCH, MAX_ENTITY, MAX_IDS = 500_000, 32_000, 1_000
MAX_ATTRS, MAX_NAME, MAX_VALUE = 300, 150, 1_000
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def _error(status: int, message: str) -> Reply:
    return Reply(status, {"meta": {"error": message}})


class CustomerIoEmulator(EmulatorServer):
    def __init__(self, site_id: str, api_key: str, *, faults: Faults | None = None, burst: int | None = None,
                 reject_ids: set[str] | None = None):
        super().__init__(faults)
        self.auth = "Basic " + base64.b64encode(f"{site_id}:{api_key}".encode()).decode()
        self.burst = burst
        self.reject_ids = set(reject_ids or ())
        self.people: dict[str, dict] = {}  # cio_id -> {"id", "email", "attributes"}
        self.segments: dict[str, set[str]] = {}  # segment id -> cio_ids
        self.index: dict[tuple[str, str], str] = {}  # (id or email, value) -> cio_id
        self._cio = itertools.count(1)

    # -- helpers for tests ---------------------------------------------------------------
    def create_segment(self, segment_id: int | str) -> None:
        self.segments.setdefault(str(segment_id), set())

    def segment_members(self, segment_id: int | str, by: str = "email") -> set[str]:
        return {self.people[c][by] for c in self.segments.get(str(segment_id), ())}

    def rate_limited(self):
        return 429, {"meta": {"error": "rate limit exceeded"}}

    # -- the API ---------------------------------------------------------------------------
    def _find(self, id_type: str, value: str) -> str | None:
        if id_type == "cio_id":
            return value if value in self.people else None
        return self.index.get((id_type, value))

    def _person(self, id_type: str, value: str) -> str:
        cio = self._find(id_type, value)
        if cio is None:
            cio = f"{next(self._cio):012x}"
            self.people[cio] = {"id": None, "email": None, "attributes": {}, id_type: value}
            self.index[(id_type, value)] = cio
        return cio

    def handle(self, request: Request):
        if request.headers.get("authorization") != self.auth:
            raise _error(401, "Unauthorized request")
        if self.over_burst(self.burst):
            return self.rate_limited()
        with self.lock:
            if request.method == "POST" and request.path == "/api/v2/batch":
                return self._batch(request)
            m = re.fullmatch(r"/api/v1/segments/([^/]+)/(add_customers|remove_customers)", request.path)
            if m and request.method == "POST":
                return self._segment(m.group(1), m.group(2), request)
        raise _error(404, f"{request.method} {request.path} not found")

    def _batch(self, request: Request):
        if len(request.body) >= MAX_BATCH:
            raise _error(400, "batch request must be smaller than 500kb")
        entities = request.json().get("batch")
        if not isinstance(entities, list) or not entities:
            raise _error(400, "batch must be a non-empty array")
        for i, e in enumerate(entities):
            if len(json.dumps(e).encode()) > MAX_ENTITY:
                raise _error(400, f"batch[{i}] is larger than 32kb")
            if e.get("type") != "person" or e.get("action") != "identify":
                raise _error(400, f"batch[{i}]: unsupported type/action")
            ids = e.get("identifiers") or {}
            if len(ids) != 1 or next(iter(ids)) not in ("id", "email", "cio_id"):
                raise _error(400, f"batch[{i}]: identifiers must hold one of id, email, cio_id")
            value = str(next(iter(ids.values())))
            if value in self.reject_ids or ("email" in ids and not EMAIL.match(value)):
                raise _error(400, f"batch[{i}]: invalid identifier {value!r}")
            attrs = e.get("attributes") or {}
            if len(attrs) > MAX_ATTRS:
                raise _error(400, f"batch[{i}]: more than {MAX_ATTRS} attributes")
            for name, v in attrs.items():
                if len(name.encode()) > MAX_NAME or len(json.dumps(v).encode()) > MAX_VALUE:
                    raise _error(400, f"batch[{i}]: attribute {name[:40]!r} is too long")
        for e in entities:  # applied only when the whole request is valid
            (kind, value), = e["identifiers"].items()
            person_id = self._person(kind, str(value))
            person = self.people[person_id]
            attrs = dict(e.get("attributes") or {})
            if "email" in attrs and attrs["email"] != person["email"]:
                person["email"] = attrs["email"]
                self.index[("email", attrs["email"])] = person_id
            person["attributes"].update(attrs)
        return 200, {}

    def _segment(self, segment_id: str, action: str, request: Request):
        id_type = (request.query.get("id_type") or ["id"])[0]
        if id_type not in ("id", "email", "cio_id"):
            raise _error(400, f"invalid id_type {id_type!r}")
        if segment_id not in self.segments:
            raise _error(404, f"segment {segment_id} not found")
        ids = (request.json() or {}).get("ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= MAX_IDS:
            raise _error(400, f"ids must hold 1 to {MAX_IDS} values")
        members = self.segments[segment_id]
        for value in map(str, ids):
            if id_type == "email" and not EMAIL.match(value):
                continue  # does not fit id_type: ignored, as Customer.io does
            if action == "add_customers":
                members.add(self._person(id_type, value))
            else:
                cio = self._find(id_type, value)
                members.discard(cio)
        return 200, {}
