"""The hubspot, mailchimp and braze destinations against their local emulators: the audience
follows the membership, per-row errors inside 2xx answers become rejected rows (retried next run),
each vendor's rate-limit signal is honoured, batch limits hold, and runs converge under faults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pytest

from emulators import Faults
from emulators.braze import BrazeEmulator
from emulators.hubspot import HubSpotEmulator
from emulators.mailchimp import MailchimpEmulator

from sync_helpers import members, people_db, run_sync, spec_text, write_people

KEY = "sk-test-4242424242-us6"
HTTP = "  max_attempts: {attempts}\n  backoff_base: {base}\n  backoff_cap: {cap}\n  timeout: 2\n  concurrency: {concurrency}"


@dataclass
class Platform:
    name: str
    options: str  # destination options besides type, base_url and HTTP options
    env: str
    emulator: Callable[..., object]
    audience: Callable[[object], set[str]]
    prepare: Callable[[object], None] = lambda e: None
    limit: int = 100  # the vendor's batch limit, enforced by the emulator
    type: str = ""  # the destination type, when it differs from name

    def __post_init__(self):
        self.type = self.type or self.name


PLATFORMS = [
    Platform("hubspot", "token: ${HUBSPOT_TOKEN}\n  list_id: '77'\n  ten_secondly_wait: 0.2", "HUBSPOT_TOKEN",
             HubSpotEmulator, lambda e: e.list_emails("77"), lambda e: e.create_list("77"), limit=100),
    Platform("mailchimp", "api_key: ${MAILCHIMP_API_KEY}\n  list_id: aud1\n  segment_id: '9'", "MAILCHIMP_API_KEY",
             MailchimpEmulator, lambda e: e.segment_emails("aud1", "9"), lambda e: e.create_segment("aud1", "9"),
             limit=500),
    Platform("mailchimp_tag", "api_key: ${MAILCHIMP_API_KEY}\n  list_id: aud1\n  tag: vip\n  archive_removed: true",
             "MAILCHIMP_API_KEY", MailchimpEmulator, lambda e: e.tag_emails("aud1", "vip"),
             lambda e: e.members.setdefault("aud1", {}), limit=500, type="mailchimp"),
    Platform("braze", "api_key: ${BRAZE_API_KEY}\n  audience: active", "BRAZE_API_KEY",
             BrazeEmulator, lambda e: e.audience("segrules_audiences", "active"), limit=75),
]
IDS = [p.name for p in PLATFORMS]


def platform_spec(p: Platform, url: str, attempts: int = 20, base: float = 0.001, cap: float = 0.01,
                  concurrency: int = 1) -> str:
    return spec_text(f"""
dest:
  type: {p.type}
  base_url: {url}
  {p.options}
{HTTP.format(attempts=attempts, base=base, cap=cap, concurrency=concurrency)}
""", """
active_sync:
  segment: active
  destination: dest
  identify_by: email
  fields: {first_name: first_name, ltv: double_score}
""")


def _emails(people):
    return {p[0] for p in members(people).values()}


PEOPLE = {i: (f"p{i}@shop.com", f"N{i}", (i * 37) % 100) for i in range(1, 41)}


@pytest.mark.parametrize("p", PLATFORMS, ids=IDS)
def test_platform_mirror_follows_membership(p, tmp_path):
    people = dict(PEOPLE)
    with people_db(people) as con, p.emulator(KEY) as emu:
        p.prepare(emu)
        for _ in range(3):
            (o,) = run_sync(platform_spec(p, emu.url), con, tmp_path / "s.duckdb", env={p.env: KEY})
            assert o.status == "ok", o.error
            assert p.audience(emu) == _emails(people)
            people = {i: (e, n + "x", (s + 23) % 100) for i, (e, n, s) in people.items()}
            write_people(con, people)


@pytest.mark.parametrize("p", PLATFORMS, ids=IDS)
def test_platform_row_errors_in_2xx_become_rejected_rows_and_are_retried(p, tmp_path):
    bad = sorted(_emails(PEOPLE))[:2]
    with people_db(PEOPLE) as con, p.emulator(KEY, reject_emails=set(bad)) as emu:
        p.prepare(emu)
        (o,) = run_sync(platform_spec(p, emu.url), con, tmp_path / "s.duckdb", env={p.env: KEY})
        assert o.status == "partial" and o.counts["rejected"] == 2, (o.counts, o.reasons)
        assert any(bad[0] in reason or "invalid" in reason.lower() for reason in o.reasons), o.reasons
        assert p.audience(emu) == _emails(PEOPLE) - set(bad)
        emu.reject_emails.clear()
        (o,) = run_sync(platform_spec(p, emu.url), con, tmp_path / "s.duckdb", env={p.env: KEY})
        assert o.counts["retried"] == 2 and p.audience(emu) == _emails(PEOPLE)


RATE_LIMITED = {
    "hubspot": dict(burst=2),                       # 429 + policyName body, no Retry-After
    "mailchimp": dict(max_connections=1, hold=0.05, bare_403=True),   # bare 403, no body, no headers
    "mailchimp_tag": dict(max_connections=2, hold=0.002),               # bare 429
    "braze": dict(burst=2),                         # 429 + X-RateLimit-Reset
}


@pytest.mark.parametrize("p", PLATFORMS, ids=IDS)
def test_platform_rate_limit_signal_is_honoured(p, tmp_path):
    people = {i: (f"p{i}@shop.com", "N", 60) for i in range(1, 2 * p.limit + 2)}
    with people_db(people) as con, p.emulator(KEY, **RATE_LIMITED[p.name]) as emu:
        p.prepare(emu)
        text = platform_spec(p, emu.url, base=0.02, cap=0.2, concurrency=3)
        (o,) = run_sync(text, con, tmp_path / "s.duckdb", env={p.env: KEY})
        assert o.status == "ok", o.error
        assert emu.throttled > 0, "the emulator never rate-limited: the test proves nothing"
        assert p.audience(emu) == _emails(people)


@pytest.mark.parametrize("p", PLATFORMS, ids=IDS)
def test_platform_converges_under_faults(p, tmp_path):
    faults = Faults(rate_429=0.1, rate_5xx=0.1, rate_drop=0.05, after=0.1, seed=11)
    people = dict(PEOPLE)
    with people_db(people) as con, p.emulator(KEY, faults=faults) as emu:
        p.prepare(emu)
        for round_ in range(3):
            for _ in range(30):
                (o,) = run_sync(platform_spec(p, emu.url, attempts=3), con, tmp_path / "s.duckdb", env={p.env: KEY})
                if o.status == "ok":
                    break
            assert p.audience(emu) == _emails(people), round_
            people = {i: (e, n, (s + 29) % 100) for i, (e, n, s) in people.items()}
            write_people(con, people)
    assert set(faults.injected) >= {"rate_429", "rate_5xx", "after"}


def test_platform_mailchimp_tag_mode_archives_who_leaves(tmp_path):
    p = next(p for p in PLATFORMS if p.name == "mailchimp_tag")
    people = dict(PEOPLE)
    with people_db(people) as con, p.emulator(KEY) as emu:
        p.prepare(emu)
        run_sync(platform_spec(p, emu.url), con, tmp_path / "s.duckdb", env={p.env: KEY})
        leaving = sorted(members(people))[:3]
        people.update({int(k): (people[int(k)][0], "x", 0) for k in leaving})
        write_people(con, people)
        (o,) = run_sync(platform_spec(p, emu.url), con, tmp_path / "s.duckdb", env={p.env: KEY})
        assert o.counts["removed"] == 3 and p.audience(emu) == _emails(people)
        assert emu.archived("aud1") == {PEOPLE[int(k)][0] for k in leaving}
        people.update({int(k): (people[int(k)][0], "x", 99) for k in leaving})  # they come back
        write_people(con, people)
        run_sync(platform_spec(p, emu.url), con, tmp_path / "s.duckdb", env={p.env: KEY})
        assert p.audience(emu) == _emails(people) and emu.archived("aud1") == set()


def test_platform_mailchimp_needs_exactly_one_membership_kind():
    from segrules.errors import SpecError
    p = next(p for p in PLATFORMS if p.name == "mailchimp")
    text = platform_spec(p, "http://127.0.0.1:9").replace("segment_id: '9'", "segment_id: '9'\n    tag: vip")
    with people_db(PEOPLE) as con, pytest.raises(SpecError, match="exactly one of segment_id") as info:
        run_sync(text, con, "unused.duckdb", env={p.env: KEY})
    assert info.value.diagnostics[0].code == "SR816" and info.value.diagnostics[0].span.line > 1
