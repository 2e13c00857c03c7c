"""The five destinations of issue 17 besides the CDPs (``VENDORS``), and the older HTTP
destinations (``OLDER``: klaviyo, hubspot, mailchimp in static-segment and tag mode, braze,
webhook), described once for their tests: how to start each emulator, the spec of a sync to it,
what the emulator holds, and how many rows a request carried (``tests/test_sync_vendors*.py``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable

from emulators import (CustomerIoEmulator, GoogleAdsEmulator, IterableEmulator, KlaviyoEmulator, MetaEmulator,
                       SendGridEmulator, WebhookReceiver)

from segrules.plugin import hash_email
from sync_helpers import members, spec_text
from test_sync_platforms import PLATFORMS

SECRET = "sk-live-0123456789abcdef/+=="  # characters that change under URL and base64 encoding
SITE = "site-4242"
LIST_UUID = "ca7a3796-e8a8-4029-9ccb-df8937940562"
ENV = {"CUSTOMERIO_SITE_ID": SITE, "CUSTOMERIO_API_KEY": SECRET, "ITERABLE_API_KEY": SECRET,
       "SENDGRID_API_KEY": SECRET, "GOOGLE_ADS_DEVELOPER_TOKEN": "dev-" + SECRET, "GOOGLE_ADS_ACCESS_TOKEN": SECRET,
       "META_ACCESS_TOKEN": SECRET, "KLAVIYO_API_KEY": SECRET, "HUBSPOT_TOKEN": SECRET, "MAILCHIMP_API_KEY": SECRET,
       "BRAZE_API_KEY": SECRET, "HOOK_SECRET": SECRET}
HTTP = ("  max_attempts: {attempts}\n  backoff_base: {base}\n  backoff_cap: {cap}\n  timeout: {timeout}\n"
        "  concurrency: {concurrency}\n  retry_budget: null\n  wait_budget: null")


def changes_in(request) -> tuple[int, int]:
    """(rows added, rows removed) by one membership request (0, 0 for polls, searches, identify
    batches and the contact upserts that precede a list add)."""
    if request.method == "DELETE" and request.path.endswith("/contacts"):  # SendGrid: ids in the query
        return 0, len((request.query.get("contact_ids") or [""])[0].split(","))
    if request.method == "GET" or not request.body:
        return 0, 0
    body, path = request.json(), request.path
    if isinstance(body, list):  # HubSpot list memberships: record ids
        return (len(body), 0) if path.endswith("/memberships/add") else (0, len(body)) if \
            path.endswith("/memberships/remove") else (0, 0)
    body = body or {}
    removing = request.method == "DELETE" or path.endswith(("remove_customers", "/unsubscribe"))
    n = 0
    if path.endswith(("add_customers", "remove_customers")):
        n = len(body.get("ids") or [])
    elif path.endswith(("/lists/subscribe", "/lists/unsubscribe")):
        n = len(body.get("subscribers") or [])
    elif path == "/v3/marketing/contacts":
        n = len(body.get("contacts") or [])
    elif path.endswith(":addOperations"):
        n = len(body.get("operations") or [])
        removing = bool(n) and "remove" in body["operations"][0]
    elif path.endswith(("/users", "/usersreplace")):
        n = len((body.get("payload") or {}).get("data") or [])
    elif path == "/api/profile-bulk-import-jobs":  # Klaviyo: the import adds to the list
        n = len(body["data"]["attributes"]["profiles"]["data"])
    elif path.endswith("/relationships/profiles"):
        n = len(body.get("data") or [])
    elif "/segments/" in path:  # Mailchimp static segment
        return len(body.get("members_to_add") or []), len(body.get("members_to_remove") or [])
    elif path.endswith("/tags"):  # Mailchimp tag mode: one member per request
        return (1, 0) if body["tags"][0]["status"] == "active" else (0, 1)
    elif path == "/users/track":  # Braze: the audience attribute's add / remove
        ops = [next((v for v in o.values() if isinstance(v, dict)), {}) for o in body.get("attributes") or []]
        return sum("add" in v for v in ops), sum("remove" in v for v in ops)
    elif "rows" in body:  # webhook
        n, removing = len(body["rows"]), body["op"] == "remove"
    return (0, n) if removing else (n, 0)


def _rows_in(request) -> int:
    """Rows a membership request carried."""
    return sum(changes_in(request))


@dataclass
class Vendor:
    name: str
    options: str  # destination options besides type, base_url and the HTTP options
    start: Callable[..., object]  # (**emulator options) -> emulator
    prepare: Callable[[object], None]
    held: Callable[[object], set[str]]  # what the destination holds, as emails or hashes
    expect: Callable[[set[str]], set[str]] = lambda emails: emails  # the emails as the destination holds them
    fields: bool = True
    limit: int = 1000
    extra: dict = field(default_factory=dict)  # emulator options for every test
    type: str = ""  # the destination type, when it differs from name
    url_option: str = "base_url"
    batch_option: str | None = "batch_size"  # the option that sets rows per request, if there is one

    def batch(self, rows: int) -> str:
        """Destination options for at most ``rows`` rows per request (none when fixed by the vendor)."""
        return f"\n  {self.batch_option}: {rows}" if self.batch_option else ""

    def emulator(self, **options):
        return self.start(**{**self.extra, **options})

    def spec(self, url: str, *, attempts: int = 20, base: float = 0.001, cap: float = 0.01, timeout: float = 2,
             concurrency: int = 1, identify_by: str = "email", mode: str = "mirror", options: str = "") -> str:
        fields = "\n  fields: {first_name: first_name, ltv: double_score}" if self.fields else ""
        return spec_text(f"""
dest:
  type: {self.type or self.name}
  {self.url_option}: {url}
  {self.options}{options}
{HTTP.format(attempts=attempts, base=base, cap=cap, timeout=timeout, concurrency=concurrency)}
""", f"""
to_{self.name}:
  segment: active
  destination: dest
  identify_by: {identify_by}
  mode: {mode}{fields}
""")

    def audience(self, emu) -> set[str]:
        return self.held(emu)

    def expected(self, people) -> set[str]:
        return self.expect({p[0].strip().lower() for p in members(people).values() if p[0] and "@" in p[0]})

    def rows_sent(self, emu, since: int = 0) -> int:
        return sum(_rows_in(r) for r in emu.log[since:])


def _sendgrid_prepare(e):
    e.create_list(LIST_UUID)


VENDORS = [
    Vendor("customerio", "site_id: ${CUSTOMERIO_SITE_ID}\n  api_key: ${CUSTOMERIO_API_KEY}\n  segment_id: 42",
           lambda **o: CustomerIoEmulator(SITE, SECRET, **o), lambda e: e.create_segment(42),
           lambda e: e.segment_members(42)),
    Vendor("iterable", "api_key: ${ITERABLE_API_KEY}\n  list_id: 123",
           lambda **o: IterableEmulator(SECRET, **o), lambda e: e.create_list(123), lambda e: e.list_members(123)),
    Vendor("sendgrid", f"api_key: ${{SENDGRID_API_KEY}}\n  list_id: {LIST_UUID}\n  poll_interval: 0.005\n"
           "  custom_field_ids: {ltv: e1_N}",
           lambda **o: SendGridEmulator(SECRET, **o), _sendgrid_prepare, lambda e: e.list_emails(LIST_UUID),
           extra={"custom_fields": {"e1_N"}}),
    Vendor("google_ads", "customer_id: '1234567890'\n  user_list_id: '77'\n"
           "  developer_token: ${GOOGLE_ADS_DEVELOPER_TOKEN}\n  access_token: ${GOOGLE_ADS_ACCESS_TOKEN}\n"
           "  poll_interval: 0.005",
           lambda **o: GoogleAdsEmulator(SECRET, "dev-" + SECRET, **o), lambda e: e.create_list("1234567890", "77"),
           lambda e: e.members("1234567890", "77"), lambda emails: {hash_email(m, "google") for m in emails},
           fields=False),
    Vendor("meta", "access_token: ${META_ACCESS_TOKEN}\n  audience_id: '23850001'",
           lambda **o: MetaEmulator(SECRET, **o), lambda e: e.create_audience("23850001"),
           lambda e: e.members("23850001"), lambda emails: {hash_email(m, "meta") for m in emails}, fields=False),
]
IDS = [v.name for v in VENDORS]


def _older(p) -> Vendor:
    """A destination of tests/test_sync_platforms.py's table, as a Vendor."""
    return Vendor(p.name, p.options, lambda **o: p.emulator(SECRET, **o), p.prepare, p.audience, limit=p.limit,
                  type=p.type, batch_option="max_objects" if p.name == "braze" else None)


OLDER = [Vendor("klaviyo", "api_key: ${KLAVIYO_API_KEY}\n  list_id: L1\n  poll_interval: 0.005",
                lambda **o: KlaviyoEmulator(SECRET, **o), lambda e: e.create_list("L1"),
                lambda e: e.list_emails("L1"), limit=10_000, extra={"job_polls": 0}, batch_option=None),
         *map(_older, PLATFORMS),
         Vendor("webhook", "secret: ${HOOK_SECRET}", lambda **o: WebhookReceiver(SECRET, **o), lambda e: None,
                lambda e: {identifier for identifier, _ in e.members.values()}, limit=500, url_option="url")]
OLDER_IDS = [v.name for v in OLDER]
BY_NAME = {v.name: v for v in VENDORS + OLDER}


def request_texts(emu) -> str:
    """Everything the emulator received (paths, queries, headers, bodies), as one text."""
    return "\n".join(f"{r.method} {r.path} {json.dumps(r.query)} {json.dumps(r.headers)} "
                     f"{r.body.decode('utf-8', 'replace')}" for r in emu.log)
