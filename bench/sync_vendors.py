"""The vendor destinations of ``bench/run_sync.py --send``: Customer.io, Iterable, SendGrid,
Google Ads Customer Match and Meta Custom Audiences, and the older Klaviyo, HubSpot, Mailchimp
(static segment; ``mailchimp_tag``: tag mode), Braze and webhook, each against its emulator
(``tests/emulators``, set up as ``tests/vendor_platforms.py`` describes them).

Per destination: its ``destinations:``/``syncs:`` lines for the bench spec, the emulator, the
fewest requests its documented limits allow for the rows it was sent (membership calls plus the
calls the contract makes unavoidable: Customer.io's identify, SendGrid's job poll and contact-id
searches, Google's job create/run/poll), and the check that the emulator holds exactly the churn.
"""

from __future__ import annotations

LIST_UUID = "ca7a3796-e8a8-4029-9ccb-df8937940562"
DESTINATIONS_YAML = """\
  customerio: {type: customerio, site_id: "${BENCH_KEY}", api_key: "${BENCH_KEY}", segment_id: 42,
               base_url: "${BENCH_URL}", timeout: 120}
  iterable: {type: iterable, api_key: "${BENCH_KEY}", list_id: 123, base_url: "${BENCH_URL}", timeout: 120}
  sendgrid: {type: sendgrid, api_key: "${BENCH_KEY}", list_id: %s, base_url: "${BENCH_URL}",
             custom_field_ids: {ltv: e1_N}, poll_interval: 0.01, timeout: 120}
  google_ads: {type: google_ads, customer_id: "1234567890", user_list_id: "77", developer_token: "${BENCH_KEY}",
               access_token: "${BENCH_KEY}", base_url: "${BENCH_URL}", poll_interval: 0.01, timeout: 120}
  meta: {type: meta, access_token: "${BENCH_KEY}", audience_id: "23850001", base_url: "${BENCH_URL}", timeout: 120}
  klaviyo: {type: klaviyo, api_key: "${BENCH_KEY}", list_id: L1, base_url: "${BENCH_URL}", poll_interval: 0.01,
            timeout: 120}
  hubspot: {type: hubspot, token: "${BENCH_KEY}", list_id: "77", base_url: "${BENCH_URL}", timeout: 120}
  mailchimp: {type: mailchimp, api_key: "${BENCH_KEY}", list_id: aud1, segment_id: "9", base_url: "${BENCH_URL}",
              timeout: 120}
  mailchimp_tag: {type: mailchimp, api_key: "${BENCH_KEY}", list_id: aud1, tag: vip, base_url: "${BENCH_URL}",
                  timeout: 120}
  braze: {type: braze, api_key: "${BENCH_KEY}", audience: active, base_url: "${BENCH_URL}", timeout: 120}
  webhook: {type: webhook, url: "${BENCH_URL}", secret: "${BENCH_KEY}", timeout: 120}
""" % LIST_UUID
OLDER = ("klaviyo", "hubspot", "mailchimp", "mailchimp_tag", "braze", "webhook")
NAMES = ("customerio", "iterable", "sendgrid", "google_ads", "meta", *OLDER)
FIELDS = {"customerio", "iterable", "sendgrid", *OLDER}  # the ad platforms take hashed identifiers only
SYNCS_YAML = "".join(f"""\
  active_{name}:
    segment: active
    destination: {name}
    identify_by: email
""" + ("    fields: {first_name: first_name, ltv: ltv}\n" if name in FIELDS else "")
    for name in NAMES)
OWN_STATE = {"google_ads", "meta"}  # identifiers hashed, no fields: acknowledged from their own plan


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _ops(emulator) -> tuple[int, int]:
    """Rows added and rows removed by the membership requests the emulator received."""
    from vendor_platforms import changes_in
    adds = removes = searched = read = 0
    for r in emulator.log:
        if r.path.endswith("/search/emails"):  # SendGrid: joiners' and leavers' contact ids
            searched += len(r.json()["emails"])
        elif r.path == "/api/profiles":  # Klaviyo: joiners' and leavers' profile ids
            searched += (r.query.get("filter") or [""])[0].count("@")
        elif r.path.endswith("/batch/read"):  # HubSpot: leavers' record ids
            read += len(r.json()["inputs"])
        a, d = changes_in(r)
        adds, removes = adds + a, removes + d
    # SendGrid, Klaviyo, HubSpot: the leavers' vendor ids were not in the bench's state, so they were
    # looked up (and, never having been in the empty emulator, not found: no removal call was needed)
    return adds, max(removes, searched - adds, read)


MINIMUM = {  # rows added, rows removed -> the fewest requests the vendor's limits allow
    "customerio": lambda a, r: 2 * _ceil(a, 1_000) + _ceil(r, 1_000),  # identify + add_customers; remove_customers
    "iterable": lambda a, r: _ceil(a, 1_000) + _ceil(r, 1_000),  # no documented limit: the default chunk
    # upsert + one poll per job, a contact-id search per 100 added; removal by remembered id, 100 per DELETE
    "sendgrid": lambda a, r: 2 * _ceil(a, 30_000) + _ceil(a, 100) + _ceil(r, 100),
    "google_ads": lambda a, r: 4 * (_ceil(a, 10_000) + _ceil(r, 10_000)),  # create, addOperations, run, one poll
    "meta": lambda a, r: _ceil(a, 10_000) + _ceil(r, 10_000),
    # one import job (10,000 profiles, 5 MB) + one poll + a profile-id read per 100 imported; removal:
    # a profile-id read per 100 (then 1,000 ids per list DELETE, none needed when none was found)
    "klaviyo": lambda a, r: 2 * _ceil(a, 10_000) + _ceil(a, 100) + _ceil(r, 100),
    # contacts upsert + list add per 100; removal: a contact read per 100 (no record ids in the state),
    # then the list remove (none needed when no contact was found)
    "hubspot": lambda a, r: 2 * _ceil(a, 100) + _ceil(r, 100),
    "mailchimp": lambda a, r: 2 * _ceil(a, 500) + _ceil(r, 500),  # batch subscribe + segment add; remove
    "mailchimp_tag": lambda a, r: _ceil(a, 500) + a + r,  # batch subscribe; then one tag call per member
    "braze": lambda a, r: _ceil(a, 75) + _ceil(r, 75),
    "webhook": lambda a, r: _ceil(a, 500) + _ceil(r, 500),  # the default batch_size
}


def _held(name: str, emulator) -> set[str]:
    from vendor_platforms import BY_NAME
    return BY_NAME[name].held(emulator)


def destination(name: str, key: str) -> dict:
    """The bench entry of ``name``: sync, emulator, minimum, check."""
    from emulators import (BrazeEmulator, CustomerIoEmulator, GoogleAdsEmulator, HubSpotEmulator, IterableEmulator,
                           KlaviyoEmulator, MailchimpEmulator, MetaEmulator, SendGridEmulator, WebhookReceiver)
    from vendor_platforms import BY_NAME

    def emulator():
        emu = {"customerio": lambda: CustomerIoEmulator(key, key), "iterable": lambda: IterableEmulator(key),
               "sendgrid": lambda: SendGridEmulator(key, custom_fields={"e1_N"}, job_polls=0),
               "google_ads": lambda: GoogleAdsEmulator(key, key, job_polls=0), "meta": lambda: MetaEmulator(key),
               "klaviyo": lambda: KlaviyoEmulator(key, job_polls=0), "hubspot": lambda: HubSpotEmulator(key),
               "mailchimp": lambda: MailchimpEmulator(key), "mailchimp_tag": lambda: MailchimpEmulator(key),
               "braze": lambda: BrazeEmulator(key), "webhook": lambda: WebhookReceiver(key)}[name]()
        BY_NAME[name].prepare(emu)
        return emu

    def minimum(emulator) -> dict:
        adds, removes = _ops(emulator)
        fewest = MINIMUM[name](adds, removes)
        return {"events": adds + removes, "minimum": fewest, "minimum_per_op": fewest}

    def check(emulator, facts: dict, full: bool) -> bool:
        """The emulator started empty: it holds exactly the joiners (or every member after a full
        send), and each of them once."""
        held = _held(name, emulator)
        return len(held) == (facts["acknowledged"] if full else facts["join"])

    return {"sync": f"active_{name}", "emulator": emulator, "minimum": minimum, "check": check,
            "calls_per_batch": True}  # several HTTP requests per batch (identify, jobs, polls)
