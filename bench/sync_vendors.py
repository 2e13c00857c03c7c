"""The five vendor destinations of ``bench/run_sync.py --send``: Customer.io, Iterable, SendGrid,
Google Ads Customer Match and Meta Custom Audiences, each against its emulator (``tests/emulators``).

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
""" % LIST_UUID
FIELDS = {"customerio", "iterable", "sendgrid"}  # the ad platforms take hashed identifiers only
SYNCS_YAML = "".join(f"""\
  active_{name}:
    segment: active
    destination: {name}
    identify_by: email
""" + ("    fields: {first_name: first_name, ltv: ltv}\n" if name in FIELDS else "")
    for name in ("customerio", "iterable", "sendgrid", "google_ads", "meta"))
OWN_STATE = {"google_ads", "meta"}  # identifiers hashed, no fields: acknowledged from their own plan


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _ops(emulator) -> tuple[int, int]:
    """Rows added and rows removed by the membership requests the emulator received."""
    from vendor_platforms import _rows_in
    adds = removes = searched = 0
    for r in emulator.log:
        if r.path.endswith("/search/emails"):
            searched += len(r.json()["emails"])
        n = _rows_in(r)
        if r.method == "DELETE" or r.path.endswith(("remove_customers", "/unsubscribe")) or \
                (r.path.endswith(":addOperations") and "remove" in (r.json()["operations"][0])):
            removes += n
        else:
            adds += n
    # SendGrid: the leavers' ids were not in the bench's state, so they were searched (and, never
    # having been in the empty emulator, not found: no DELETE was needed)
    return adds, max(removes, searched - adds)


MINIMUM = {  # rows added, rows removed -> the fewest requests the vendor's limits allow
    "customerio": lambda a, r: 2 * _ceil(a, 1_000) + _ceil(r, 1_000),  # identify + add_customers; remove_customers
    "iterable": lambda a, r: _ceil(a, 1_000) + _ceil(r, 1_000),  # no documented limit: the default chunk
    # upsert + one poll per job, a contact-id search per 100 added; removal by remembered id, 100 per DELETE
    "sendgrid": lambda a, r: 2 * _ceil(a, 30_000) + _ceil(a, 100) + _ceil(r, 100),
    "google_ads": lambda a, r: 4 * (_ceil(a, 10_000) + _ceil(r, 10_000)),  # create, addOperations, run, one poll
    "meta": lambda a, r: _ceil(a, 10_000) + _ceil(r, 10_000),
}


def _held(name: str, emulator) -> set[str]:
    from vendor_platforms import BY_NAME
    return BY_NAME[name].held(emulator)


def destination(name: str, key: str) -> dict:
    """The bench entry of ``name``: sync, emulator, minimum, check."""
    from emulators import CustomerIoEmulator, GoogleAdsEmulator, IterableEmulator, MetaEmulator, SendGridEmulator
    from vendor_platforms import BY_NAME

    def emulator():
        emu = {"customerio": lambda: CustomerIoEmulator(key, key), "iterable": lambda: IterableEmulator(key),
               "sendgrid": lambda: SendGridEmulator(key, custom_fields={"e1_N"}, job_polls=0),
               "google_ads": lambda: GoogleAdsEmulator(key, key, job_polls=0), "meta": lambda: MetaEmulator(key)}[name]()
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
