"""A Mailchimp emulator: one audience (list) with members and static segments, per the Marketing
API 3.0 contract.

* auth: HTTP Basic with the API key as password (any user), or ``Bearer <key>``; 401 otherwise
  (an RFC 7807 problem document);
* ``POST /3.0/lists/{list_id}``: batch subscribe, <= 500 members; ``update_existing``;
  ``status_if_new``; emails in ``reject_emails`` (or malformed) come back in ``errors[]`` of a 200;
* ``POST /3.0/lists/{list_id}/segments/{segment_id}``: ``members_to_add`` / ``members_to_remove``
  (<= 500 emails); unknown emails come back in ``errors[]``; idempotent;
* ``POST /3.0/lists/{list_id}/members/{hash}/tags``: tag status active/inactive, 204 (404 for an
  unknown member); ``DELETE /3.0/lists/{list_id}/members/{hash}``: archive (405 if archived already);
* concurrency: more than ``max_connections`` requests in flight -> a bare 429 (no body, no
  headers), or a bare 403 with ``bare_403=True``, like Mailchimp under load.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import time

from .server import EmulatorServer, Faults, Reply, Request

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
MAX_MEMBERS = 500


def _problem(status: int, title: str, detail: str) -> Reply:
    return Reply(status, {"type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": title,
                          "status": status, "detail": detail, "instance": "0"})


class MailchimpEmulator(EmulatorServer):
    json_type = "application/json"

    def __init__(self, api_key: str, *, faults: Faults | None = None, max_connections: int | None = None,
                 bare_403: bool = False, hold: float = 0.0, reject_emails: set[str] | None = None,
                 list_errors: int | None = None):
        super().__init__(faults)
        self.list_errors = list_errors  # list at most this many errors[] (error_count stays whole)
        self.api_key, self.max_connections, self.bare_403, self.hold = api_key, max_connections, bare_403, hold
        self.reject_emails = set(reject_emails or ())
        self.members: dict[str, dict[str, dict]] = {}  # list -> email -> member
        self.segments: dict[tuple[str, str], set[str]] = {}
        self._by_id: dict[tuple[str, str], dict] = {}  # (list, subscriber hash) -> member
        self._inflight = 0
        self._count_lock = threading.Lock()

    def create_segment(self, list_id: str, segment_id: str) -> None:
        self.members.setdefault(list_id, {})
        self.segments.setdefault((list_id, segment_id), set())

    def segment_emails(self, list_id: str, segment_id: str) -> set[str]:
        return set(self.segments.get((list_id, segment_id), ()))

    def _authorised(self, header: str) -> bool:
        if header.startswith("Bearer "):
            return header[7:] == self.api_key
        if header.startswith("Basic "):
            user_pass = base64.b64decode(header[6:]).decode(errors="replace")
            return user_pass.partition(":")[2] == self.api_key
        return False

    def handle(self, request: Request):
        if not self._authorised(request.headers.get("authorization", "")):
            raise _problem(401, "API Key Invalid", "Your API key may be invalid, or you've attempted to access "
                           "the wrong datacenter.")
        with self._count_lock:
            self._inflight += 1
            busy = self.max_connections is not None and self._inflight > self.max_connections
            if busy:
                self.throttled += 1
        try:
            if busy:
                return (403 if self.bare_403 else 429), None, {}
            time.sleep(self.hold)
            with self.lock:
                m = re.fullmatch(r"/3\.0/lists/([^/]+)", request.path)
                if m and request.method == "POST":
                    return self._subscribe(m.group(1), request.json())
                m = re.fullmatch(r"/3\.0/lists/([^/]+)/segments/([^/]+)", request.path)
                if m and request.method == "POST":
                    return self._segment(m.group(1), m.group(2), request.json())
                m = re.fullmatch(r"/3\.0/lists/([^/]+)/members/([0-9a-f]{32})(/tags)?", request.path)
                if m and request.method == "POST" and m.group(3):
                    return self._tags(m.group(1), m.group(2), request.json())
                if m and request.method == "DELETE" and not m.group(3):
                    return self._archive(m.group(1), m.group(2))
            raise _problem(404, "Resource Not Found", f"{request.method} {request.path}")
        finally:
            with self._count_lock:
                self._inflight -= 1

    def _subscribe(self, list_id: str, body):
        if list_id not in self.members:
            raise _problem(404, "Resource Not Found", "The requested resource could not be found.")
        members = body.get("members") or []
        if len(members) > MAX_MEMBERS:
            raise _problem(400, "Invalid Resource", f"At most {MAX_MEMBERS} members per batch.")
        new, updated, errors = [], [], []
        audience = self.members[list_id]
        for m in members:
            email = (m.get("email_address") or "").lower()
            if not EMAIL.match(email) or email in self.reject_emails:
                errors.append({"email_address": m.get("email_address"), "error": f"{email} looks fake or invalid, "
                               "please enter a real email address.", "error_code": "ERROR_GENERIC",
                               "field": "email_address", "field_message": "invalid"})
                continue
            if email in audience and not body.get("update_existing"):
                errors.append({"email_address": email, "error": f"{email} is already a list member.",
                               "error_code": "ERROR_CONTACT_EXISTS"})
                continue
            record = audience.get(email)
            member_id = hashlib.md5(email.encode()).hexdigest()
            if record is None:
                record = audience[email] = {"id": member_id, "email_address": email,
                                            "status": m.get("status") or m.get("status_if_new"), "merge_fields": {}}
                self._by_id[(list_id, member_id)] = record
                new.append(record)
            else:
                if m.get("status") or record["status"] == "archived":  # re-adding unarchives
                    record["status"] = m.get("status") or m.get("status_if_new")
                updated.append(record)
            record["merge_fields"].update(m.get("merge_fields") or {})
        return 200, {"new_members": new, "updated_members": updated, "errors": errors[:self.list_errors],
                     "total_created": len(new), "total_updated": len(updated), "error_count": len(errors)}

    def _by_hash(self, list_id: str, member_hash: str) -> dict:
        record = self._by_id.get((list_id, member_hash))
        if record is None:
            raise _problem(404, "Resource Not Found", "The requested resource could not be found.")
        return record

    def _tags(self, list_id: str, member_hash: str, body):
        record = self._by_hash(list_id, member_hash)
        tags = record.setdefault("tags", [])
        for tag in body.get("tags") or []:
            if tag.get("status") == "active" and tag["name"] not in tags:
                tags.append(tag["name"])
            elif tag.get("status") == "inactive" and tag["name"] in tags:
                tags.remove(tag["name"])
        return 204, None

    def _archive(self, list_id: str, member_hash: str):
        record = self._by_hash(list_id, member_hash)
        if record["status"] == "archived":
            raise _problem(405, "Method Not Allowed", "This member is archived already.")
        record["status"] = "archived"
        return 204, None

    def tag_emails(self, list_id: str, tag: str) -> set[str]:
        return {e for e, r in self.members.get(list_id, {}).items() if tag in r.get("tags", ()) and r["status"] != "archived"}

    def archived(self, list_id: str) -> set[str]:
        return {e for e, r in self.members.get(list_id, {}).items() if r["status"] == "archived"}

    def _segment(self, list_id: str, segment_id: str, body):
        if (list_id, segment_id) not in self.segments:
            raise _problem(404, "Resource Not Found", "The requested segment could not be found.")
        add, remove = body.get("members_to_add") or [], body.get("members_to_remove") or []
        if len(add) > MAX_MEMBERS or len(remove) > MAX_MEMBERS:
            raise _problem(400, "Invalid Resource", f"At most {MAX_MEMBERS} emails per request.")
        segment, audience = self.segments[(list_id, segment_id)], self.members[list_id]
        errors, added, removed = [], [], []
        for email in add:
            if email.lower() not in audience:
                errors.append({"email_addresses": [email], "error": "Email address is not subscribed to the list"})
                continue
            segment.add(email.lower())
            added.append({"email_address": email.lower()})
        for email in remove:
            if email.lower() in segment:
                segment.discard(email.lower())
                removed.append({"email_address": email.lower()})
        return 200, {"members_added": added, "members_removed": removed, "errors": errors,
                     "total_added": len(added), "total_removed": len(removed), "error_count": len(errors)}
