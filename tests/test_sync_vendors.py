"""The customerio, iterable, sendgrid, google_ads and meta destinations against their local
emulators: the audience follows the membership, per-row errors inside 2xx answers become
rejected rows (retried next run), a batch refused as a whole is split until the bad rows are
isolated, each vendor's rate-limit signal is honoured, runs converge under faults, and Iterable's
and SendGrid's requests conform to their official API documents."""

from __future__ import annotations

import pytest

from emulators import Faults
from segrules.errors import SpecError
from segrules.plugin import hash_email
from segrules.state import open_state
from segrules.sync import SyncState

from sync_helpers import members, people_db, run_sync, write_people
from test_sync_klaviyo import _vendor_spec
from vendor_platforms import BY_NAME, ENV, IDS, LIST_UUID, VENDORS

PEOPLE = {i: (f"p{i}@shop.com", f"N{i}", (i * 37) % 100) for i in range(1, 41)}


def _emails(people) -> set[str]:
    return {p[0] for p in members(people).values()}


@pytest.mark.parametrize("v", VENDORS, ids=IDS)
def test_vendor_mirror_follows_membership(v, tmp_path):
    people = dict(PEOPLE)
    with people_db(people) as con, v.emulator() as emu:
        v.prepare(emu)
        for round_ in range(3):
            (o,) = run_sync(v.spec(emu.url), con, tmp_path / "s.duckdb", env=ENV)
            assert o.status == "ok", o.error
            assert v.audience(emu) == v.expected(people), round_
            people = {i: (e, n + "x", (s + 23) % 100) for i, (e, n, s) in people.items()}
            write_people(con, people)


def _reject(v, bad: list[str]) -> dict:
    """Emulator options that make ``bad`` fail the vendor's way."""
    return {"customerio": {"reject_ids": set(bad)}, "iterable": {"reject_emails": set(bad)},
            "sendgrid": {"reject_emails": set(bad)},
            "google_ads": {"reject_hashes": {hash_email(b, "google") for b in bad}},
            "meta": {"reject_hashes": {hash_email(b, "meta") for b in bad}}}[v.name]


@pytest.mark.parametrize("v", VENDORS, ids=IDS)
def test_vendor_row_errors_become_rejected_rows_and_are_retried(v, tmp_path):
    """Per-row errors inside a 2xx (Iterable failedUpdates, SendGrid's errors_url, Google's
    partialFailureError, Meta's invalid_entry_samples) -- or, for Customer.io, a 400 refusing the
    whole batch, which the engine bisects -- reject exactly the bad rows; the next run retries them."""
    bad = sorted(_emails(PEOPLE))[:2]
    with people_db(PEOPLE) as con, v.emulator(**_reject(v, bad)) as emu:
        v.prepare(emu)
        (o,) = run_sync(v.spec(emu.url), con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "partial" and o.counts["rejected"] == 2, (o.counts, o.reasons, o.error)
        assert v.audience(emu) == v.expected(PEOPLE) - v.expect(set(bad))
        for attr in ("reject_ids", "reject_emails", "reject_hashes"):
            if hasattr(emu, attr):
                getattr(emu, attr).clear()
        (o,) = run_sync(v.spec(emu.url), con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "ok" and o.counts["retried"] == 2 and v.audience(emu) == v.expected(PEOPLE)


REFUSING = {  # emulator options under which one bad row makes the vendor refuse its whole batch
    "customerio": lambda bad: {"reject_ids": {bad}},
    "sendgrid": lambda bad: {"refuse_emails": {bad}},
    "meta": lambda bad: {"reject_hashes": {hash_email(bad, "meta")}, "sample_limit": 0},  # unnamed invalid entry
}


@pytest.mark.parametrize("name", sorted(REFUSING))
def test_vendor_whole_batch_refusal_is_bisected_to_the_bad_row(name, tmp_path):
    v = BY_NAME[name]
    people = {i: (f"p{i}@shop.com", "N", 60) for i in range(1, 401)}
    bad = "p123@shop.com"
    with people_db(people) as con, v.emulator(**REFUSING[name](bad)) as emu:
        v.prepare(emu)
        (o,) = run_sync(v.spec(emu.url, options="\n  batch_size: 100"), con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "partial" and o.counts["rejected"] == 1 and o.counts["added"] == 399, (o.counts, o.error)
        assert v.audience(emu) == v.expected(people) - v.expect({bad})
        (reason,) = o.reasons
        assert name in reason


RATE_LIMITED = {"customerio": {"burst": 2}, "iterable": {"burst": 2}, "sendgrid": {"burst": 3},
                "google_ads": {"burst": 3}, "meta": {"burst": 2}}


@pytest.mark.parametrize("v", VENDORS, ids=IDS)
def test_vendor_rate_limit_signal_is_honoured(v, tmp_path):
    """Customer.io: bare 429; Iterable: 429 RateLimitExceeded; SendGrid: 429 + X-RateLimit-Reset;
    Google: 429 RESOURCE_EXHAUSTED + retryDelay; Meta: a Graph error code in a 400 (no 429)."""
    people = {i: (f"p{i}@shop.com", "N", 60) for i in range(1, 31)}
    with people_db(people) as con, v.emulator(**RATE_LIMITED[v.name]) as emu:
        v.prepare(emu)
        spec = v.spec(emu.url, attempts=80, base=0.02, cap=0.3, concurrency=3, options="\n  batch_size: 5")
        (o,) = run_sync(spec, con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "ok", o.error
        assert emu.throttled > 0, "the emulator never rate-limited: the test proves nothing"
        assert v.audience(emu) == v.expected(people)


@pytest.mark.parametrize("v", VENDORS, ids=IDS)
def test_vendor_converges_under_faults(v, tmp_path):
    faults = Faults(rate_429=0.1, rate_5xx=0.1, rate_drop=0.05, rate_timeout=0.03, stall=0.6, after=0.1, seed=11)
    people = dict(PEOPLE)
    with people_db(people) as con, v.emulator(faults=faults) as emu:
        v.prepare(emu)
        for round_ in range(3):
            for _ in range(30):
                (o,) = run_sync(v.spec(emu.url, attempts=3, timeout=0.5, options="\n  batch_size: 8"), con,
                                tmp_path / "s.duckdb", env=ENV)
                if o.status == "ok":
                    break
            assert o.status == "ok", o.error
            assert v.audience(emu) == v.expected(people), round_
            people = {i: (e, n, (s + 29) % 100) for i, (e, n, s) in people.items()}
            write_people(con, people)
    assert set(faults.injected) >= {"rate_429", "rate_5xx", "after"}


OFFICIAL = {"iterable": "iterable-swagger.json", "sendgrid": "sendgrid-openapi.json"}
PATHS = {"iterable": {"/api/lists/subscribe", "/api/lists/unsubscribe", "/api/users/bulkUpdate"},
         "sendgrid": {"/v3/marketing/contacts", "/v3/marketing/contacts/search/emails",
                      f"/v3/marketing/lists/{LIST_UUID}/contacts"}}


@pytest.mark.parametrize("name", sorted(OFFICIAL))
def test_vendor_requests_match_the_official_api_document(name, tmp_path):
    path = _vendor_spec(OFFICIAL[name])
    if path is None:
        pytest.skip(f"shared/vendor-specs/{OFFICIAL[name]} not found beside the repository")
    from emulators.openapi import openapi_validator, swagger2_validator
    if name == "iterable":
        validator = swagger2_validator(path)
    else:
        pytest.importorskip("openapi_core")
        validator = openapi_validator(path, "http://api.sendgrid.com")
    v = BY_NAME[name]
    people = dict(PEOPLE)
    with people_db(people) as con, v.emulator(validator=validator) as emu:
        v.prepare(emu)
        for mode in ("mirror", "mirror", "upsert"):
            (o,) = run_sync(v.spec(emu.url, mode=mode), con, tmp_path / f"{mode}.duckdb", env=ENV)
            assert o.status == "ok", o.error
            people = {i: (e, n, (s + 41) % 100) for i, (e, n, s) in people.items()}
            write_people(con, people)
        assert emu.invalid == []
        assert {r.path for r in emu.log} >= PATHS[name]


def test_vendor_iterable_truncated_failure_list_acknowledges_only_what_it_names(tmp_path):
    """failCount says 2 rows failed but failedUpdates names none: the answer vouches for no row;
    the engine sends the unvouched rows again in halves until the answers vouch for the good ones,
    the 2 bad rows stay unacknowledged (neither held nor rejected) and the next run sends them."""
    v = BY_NAME["iterable"]
    bad = sorted(_emails(PEOPLE))[:2]
    with people_db(PEOPLE) as con, v.emulator(reject_emails=set(bad), failed_limit=0) as emu:
        v.prepare(emu)
        (o,) = run_sync(v.spec(emu.url), con, tmp_path / "s.duckdb", env=ENV)
        assert o.counts["added"] == len(members(PEOPLE)) - 2 and o.counts["rejected"] == 0
        assert o.status == "partial" and "2 rows sent but not acknowledged" in o.error
        emu.reject_emails.clear()
        emu.failed_limit = None
        (o,) = run_sync(v.spec(emu.url), con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "ok" and o.counts["added"] == 2
        assert v.audience(emu) == v.expected(PEOPLE)
        assert emu.channel_unsubscribed == 0


def test_vendor_sendgrid_removes_by_the_remembered_contact_ids(tmp_path):
    v = BY_NAME["sendgrid"]
    people = dict(PEOPLE)
    with people_db(people) as con, v.emulator() as emu:
        v.prepare(emu)
        run_sync(v.spec(emu.url), con, tmp_path / "s.duckdb", env=ENV)
        store = open_state(tmp_path / "s.duckdb")
        ids = SyncState(store).acknowledged("to_sendgrid").to_pyarrow().column("vendor_id").to_pylist()
        store.con.disconnect()
        assert all(i in emu.contacts for i in ids) and len(ids) == len(members(people))
        leaving = sorted(members(people))[:4]
        people.update({int(k): (people[int(k)][0], "x", 0) for k in leaving})
        write_people(con, people)
        before = len(emu.log)
        (o,) = run_sync(v.spec(emu.url), con, tmp_path / "s.duckdb", env=ENV)
        assert o.counts["removed"] == 4 and v.audience(emu) == v.expected(people)
        paths = [r.path for r in emu.log[before:]]
        assert f"/v3/marketing/lists/{LIST_UUID}/contacts" in paths
        assert "/v3/marketing/contacts/search/emails" not in paths  # the ids came from the state


def test_vendor_customerio_identifies_people_before_adding_them_by_id(tmp_path):
    v = BY_NAME["customerio"]
    with people_db(PEOPLE) as con, v.emulator() as emu:
        v.prepare(emu)
        (o,) = run_sync(v.spec(emu.url, identify_by="id"), con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "ok", o.error
        assert emu.segment_members(42, by="id") == set(members(PEOPLE))
        first_add = next(i for i, r in enumerate(emu.log) if r.path.endswith("add_customers"))
        assert emu.log[0].path == "/api/v2/batch" and first_add > 0
        assert emu.log[first_add].query["id_type"] == ["id"]
        key = min(members(PEOPLE), key=int)
        person = next(p for p in emu.people.values() if p["id"] == key)
        assert person["attributes"] == {"first_name": f"N{key}", "ltv": PEOPLE[int(key)][2] * 2}


def test_vendor_google_ads_failed_job_acknowledges_nothing(tmp_path):
    v = BY_NAME["google_ads"]
    with people_db(PEOPLE) as con, v.emulator(fail_jobs=True) as emu:
        v.prepare(emu)
        (o,) = run_sync(v.spec(emu.url), con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "failed" and "FAILED" in o.error and o.counts["added"] == 0
        emu.fail_jobs = False
        (o,) = run_sync(v.spec(emu.url), con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "ok" and o.counts["added"] == len(members(PEOPLE))
        assert v.audience(emu) == v.expected(PEOPLE)


def test_vendor_meta_full_resync_replaces_through_one_session(tmp_path):
    """--full-resync uploads the audience through usersreplace in one session, closed with
    last_batch_flag: whoever Meta held that the state did not know about is gone."""
    v = BY_NAME["meta"]
    people = {i: (f"p{i}@shop.com", "N", 60) for i in range(1, 26)}
    with people_db(people) as con, v.emulator() as emu:
        v.prepare(emu)
        run_sync(v.spec(emu.url), con, tmp_path / "s.duckdb", env=ENV)
        stranger = hash_email("someone.else@elsewhere.com", "meta")
        emu.audiences["23850001"].add(stranger)  # added outside segrules
        before = len(emu.log)
        (o,) = run_sync(v.spec(emu.url, options="\n  batch_size: 10"), con, tmp_path / "s.duckdb", env=ENV,
                        full_resync=True)
        assert o.status == "ok", o.error
        assert v.audience(emu) == v.expected(people)
        sent = emu.log[before:]
        assert {r.path.rsplit("/", 1)[-1] for r in sent} == {"usersreplace"}
        sessions = [r.json()["session"] for r in sent]
        assert len({s["session_id"] for s in sessions}) == 1
        assert [s["batch_seq"] for s in sessions] == list(range(1, len(sessions) + 1))
        assert [s["last_batch_flag"] for s in sessions] == [False] * (len(sessions) - 1) + [True]


@pytest.mark.parametrize("name", ["google_ads", "meta"])
def test_vendor_ad_platforms_take_no_fields_sr819(name):
    v = BY_NAME[name]
    text = v.spec("http://127.0.0.1:9").replace("    mode: mirror", "    mode: mirror\n    fields: {first_name: first_name}")
    with people_db(PEOPLE) as con, pytest.raises(SpecError) as info:
        run_sync(text, con, "unused.duckdb", env=ENV)
    (d,) = info.value.diagnostics
    assert d.code == "SR819" and "first_name" in d.message and d.span.line > 1
    assert "hashed identifiers only" in d.hint
