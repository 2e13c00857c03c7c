"""The klaviyo destination against the local Klaviyo emulator; every request is validated against
Klaviyo's official OpenAPI document when it is available (``shared/vendor-specs`` beside the
repository or one of its parents), and the test is skipped otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from segrules.state import open_state
from segrules.sync import SyncState
from emulators import Faults
from emulators.klaviyo import KlaviyoEmulator, _error

from sync_helpers import memory_con, members, people_db, run_sync, spec_text, write_people

KEY = "pk_live_0123456789abcdef"
ENV = {"KLAVIYO_API_KEY": KEY}
ROOT = Path(__file__).resolve().parent.parent


def _vendor_spec(name: str) -> Path | None:
    for folder in [ROOT, *ROOT.parents]:
        path = folder / "shared" / "vendor-specs" / name
        if path.exists():
            return path
    return None


KLAVIYO_SPEC = _vendor_spec("klaviyo-openapi.json")


@pytest.fixture(scope="module")
def validator():
    if KLAVIYO_SPEC is None:
        pytest.skip("shared/vendor-specs/klaviyo-openapi.json not found beside the repository")
    pytest.importorskip("openapi_core")
    from emulators.openapi import openapi_validator
    return openapi_validator(KLAVIYO_SPEC, "https://a.klaviyo.com")


def klaviyo_spec(url: str, mode: str = "mirror", attempts: int = 20) -> str:
    return spec_text(f"""
klaviyo_main:
  type: klaviyo
  api_key: ${{KLAVIYO_API_KEY}}
  list_id: L1
  base_url: {url}
  poll_interval: 0.01
  max_attempts: {attempts}
  backoff_base: 0.001
  backoff_cap: 0.01
  timeout: 0.5
""", f"""
active_to_klaviyo:
  segment: active
  destination: klaviyo_main
  identify_by: email
  fields: {{first_name: first_name, ltv: double_score}}
  mode: {mode}
""")


PEOPLE = {i: (f"p{i}@shop.com", f"N{i}", (i * 37) % 100) for i in range(1, 41)}


def _emails(people):
    return {p[0] for p in members(people).values()}


@pytest.fixture
def con():
    with people_db(PEOPLE) as c:
        yield c


def test_klaviyo_mirror_follows_membership_and_requests_match_the_official_spec(con, tmp_path, validator):
    state = tmp_path / "s.duckdb"
    people = dict(PEOPLE)
    with KlaviyoEmulator(KEY, validator=validator, job_polls=2) as kl:
        kl.create_list("L1")
        (o,) = run_sync(klaviyo_spec(kl.url), con, state, env=ENV)
        assert o.status == "ok", o.error
        assert kl.list_emails("L1") == _emails(people)
        pid = kl.by_email["p2@shop.com"]
        assert kl.profiles[pid]["first_name"] == "N2" and kl.profiles[pid]["properties"] == {"ltv": 148}
        people = {i: (p[0], p[1] + "x", (p[2] + 20) % 100) for i, p in people.items()}
        write_people(con, people)
        (o,) = run_sync(klaviyo_spec(kl.url), con, state, env=ENV)
        assert o.status == "ok" and o.counts["removed"] > 0 and o.counts["added"] > 0
        assert kl.list_emails("L1") == _emails(people)
        assert kl.requests.get("DELETE /api/lists/L1/relationships/profiles")
        assert kl.invalid == []
    acked = SyncState(open_state(state)).acknowledged("active_to_klaviyo").to_pyarrow().to_pylist()
    assert all(r["vendor_id"] == kl.by_email[r["identifier"]] for r in acked if r["op"] != "remove")


def test_klaviyo_import_errors_become_rejected_rows_retried_next_run(con, tmp_path):
    state = tmp_path / "s.duckdb"
    bad = sorted(_emails(PEOPLE))[0]
    with KlaviyoEmulator(KEY, reject_emails={bad}) as kl:
        kl.create_list("L1")
        (o,) = run_sync(klaviyo_spec(kl.url), con, state, env=ENV)
        assert o.counts["rejected"] == 1 and o.status == "partial"
        assert any("Invalid email address" in reason for reason in o.reasons)
        assert kl.list_emails("L1") == _emails(PEOPLE) - {bad}
        kl.reject_emails.clear()
        (o,) = run_sync(klaviyo_spec(kl.url), con, state, env=ENV)
        assert o.counts["retried"] == 1 and o.counts["added"] == 1
        assert kl.list_emails("L1") == _emails(PEOPLE)


def test_klaviyo_rate_limit_honours_retry_after(con, tmp_path):
    with KlaviyoEmulator(KEY, burst=2, retry_after=1) as kl:
        kl.create_list("L1")
        (o,) = run_sync(klaviyo_spec(kl.url), con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "ok" and kl.list_emails("L1") == _emails(PEOPLE)
        assert kl.throttled > 0


def test_klaviyo_batches_respect_documented_limits(tmp_path):
    con = memory_con()
    people = {i: (f"p{i}@shop.com", "N", 60) for i in range(1, 2502)}
    write_people(con, people)
    with KlaviyoEmulator(KEY) as kl:
        kl.create_list("L1")
        run_sync(klaviyo_spec(kl.url), con, tmp_path / "s.duckdb", env=ENV)
        write_people(con, {i: (p[0], p[1], 0 if i > 1 else 60) for i, p in people.items()})
        (o,) = run_sync(klaviyo_spec(kl.url), con, tmp_path / "s.duckdb", env=ENV)
        assert o.counts["removed"] == 2500 and kl.list_emails("L1") == {"p1@shop.com"}
        assert kl.requests["DELETE /api/lists/L1/relationships/profiles"] == 3  # 1,000 ids per call
        assert max(kl.import_sizes) <= 10_000


def test_klaviyo_wrong_key_fails_without_showing_a_key(con, tmp_path):
    class Echo(KlaviyoEmulator):
        def handle(self, request):
            raise _error(400, "invalid", f"bad header {request.headers.get('authorization')}")

    with Echo(KEY) as kl:
        (o,) = run_sync(klaviyo_spec(kl.url, attempts=1), con, tmp_path / "s.duckdb", env=ENV)
    assert o.status == "failed" and "bad header" in o.error and KEY not in o.error
    with KlaviyoEmulator("another-key") as kl:
        kl.create_list("L1")
        (o,) = run_sync(klaviyo_spec(kl.url), con, tmp_path / "t.duckdb", env=ENV)
    assert o.status == "failed" and "check the API key" in o.error and KEY not in o.error


def test_klaviyo_converges_under_faults(con, tmp_path):
    state = tmp_path / "s.duckdb"
    faults = Faults(rate_429=0.1, rate_5xx=0.1, rate_drop=0.05, after=0.1, seed=3)
    people = dict(PEOPLE)
    with KlaviyoEmulator(KEY, faults=faults, retry_after=0) as kl:
        kl.create_list("L1")
        for round_ in range(3):
            for _ in range(30):
                (o,) = run_sync(klaviyo_spec(kl.url, attempts=3), con, state, env=ENV)
                if o.status == "ok":
                    break
            assert kl.list_emails("L1") == _emails(people), round_
            people = {i: (p[0], p[1], (p[2] + 17) % 100) for i, p in people.items()}
            write_people(con, people)
    assert set(faults.injected) >= {"rate_429", "rate_5xx", "after"}


def test_klaviyo_spec_validator_catches_a_malformed_request(validator):
    from emulators.server import Request
    headers = {"authorization": f"Klaviyo-API-Key {KEY}", "revision": "2026-07-15",
               "content-type": "application/vnd.api+json"}
    good = Request("DELETE", "/api/lists/L1/relationships/profiles", {}, headers,
                   b'{"data": [{"type": "profile", "id": "01K1"}]}')
    bad = Request("DELETE", "/api/lists/L1/relationships/profiles", {}, headers,
                  b'{"data": [{"type": "profiles", "id": "01K1"}]}')
    assert validator(good) == []
    assert validator(bad) and "profiles" in validator(bad)[0]
