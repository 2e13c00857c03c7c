"""The segment and rudderstack destinations (one tracking-API client) against the tracking-API
emulator: traits and events, deterministic messageIds, batch limits, the write key, replays,
malformed successes, the retry budget and dead rows."""

from __future__ import annotations

import json

import pytest

from segrules.state import open_state
from segrules.sync import SyncState
from emulators import Faults, TrackingEmulator

from sync_helpers import members, people_db, run_sync, spec_text, write_people

KEY = "sk_write_Zx81Qp0LmN4vB7cD2eF"
ENV = {"SEGMENT_WRITE_KEY": KEY}
FAST = "max_attempts: 20\n  backoff_base: 0.001\n  backoff_cap: 0.01\n  timeout: 2"


def tracking_spec(url: str, *, kind: str = "segment", emit: str = "traits", mode: str = "mirror",
                  options: str = "", fields: str = "{name: first_name, ds: double_score}",
                  sync_extra: str = "") -> str:
    where = f"base_url: {url}" if kind == "segment" else f"data_plane_url: {url}"
    return spec_text(f"""
cdp:
  type: {kind}
  write_key: ${{SEGMENT_WRITE_KEY}}
  {where}
  emit: {emit}
  {FAST}{options}
""", f"""
active_cdp:
  segment: active
  destination: cdp
  identify_by: email
  fields: {fields}
  mode: {mode}{sync_extra}
""")


def people(n: int, *, offset: int = 0) -> dict[int, tuple[str, str, int]]:
    return {i: (f"p{i}@x.com", f"N{i}", (i * 37 + offset) % 100) for i in range(1, n + 1)}


def emails(ppl) -> set[str]:
    return {p[0] for p in members(ppl).values()}


@pytest.mark.parametrize("kind", ["segment", "rudderstack"])
def test_sync_tracking_traits_converge_through_adds_removes_updates(tmp_path, kind):
    ppl = people(300)
    with people_db(ppl) as con, TrackingEmulator(KEY) as em:
        text = tracking_spec(em.url, kind=kind)
        (o,) = run_sync(text, con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "ok" and em.trait_members("active") == emails(ppl)
        assert em.traits["p2@x.com"] == {"name": "N2", "ds": 148, "active": True}
        ppl = people(300, offset=13)
        write_people(con, ppl)
        (o,) = run_sync(text, con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "ok" and o.counts["removed"] > 0 and o.counts["added"] > 0
        assert em.trait_members("active") == emails(ppl)
        gone = emails(people(300)) - emails(ppl)
        assert all(em.traits[e]["active"] is False for e in gone)
        assert em.duplicates == 0 and em.dropped == []


def test_sync_tracking_events_mode_enters_and_exits(tmp_path):
    ppl = people(120)
    with people_db(ppl) as con, TrackingEmulator(KEY) as em:
        text = tracking_spec(em.url, emit="events", options="\n  audience_key: vip_2026q3")
        run_sync(text, con, tmp_path / "s.duckdb", env=ENV)
        assert em.event_members("vip_2026q3") == emails(ppl)
        ppl2 = people(120, offset=50)
        write_people(con, ppl2)
        (o,) = run_sync(text, con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "ok" and em.event_members("vip_2026q3") == emails(ppl2)
        exited = emails(ppl) - emails(ppl2)
        assert exited and all(em.audiences["vip_2026q3"][e] is False for e in exited)
        assert em.traits == {} or all("vip_2026q3" not in t for t in em.traits.values())


def test_sync_tracking_message_ids_are_deterministic_and_replays_deduplicated(tmp_path):
    """A fault after the emulator applied a batch: the client sends it again with the same
    messageIds, the vendor deduplicates them, membership ends exact."""
    ppl = people(400)
    with people_db(ppl) as con, TrackingEmulator(KEY, faults=Faults(after=1.0, seed=3)) as em:
        text = tracking_spec(em.url).replace("max_attempts: 20", "max_attempts: 3")
        (o,) = run_sync(text, con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "failed" and "gave up after 3 attempts" in o.error
        assert em.trait_members("active") == emails(ppl)  # applied, never acknowledged
        em.faults.after = 0.0
        (o,) = run_sync(text, con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "ok" and em.trait_members("active") == emails(ppl)
        assert em.duplicates == 3 * len(members(ppl))  # two retries + the next run's replay
        ids = [e["messageId"] for r in em.log for e in json.loads(r.body)["batch"]]
        assert len(set(ids)) == len(members(ppl)) and all(len(i) < 100 for i in ids)


def test_sync_tracking_batches_respect_event_count_and_bytes(tmp_path):
    ppl = {i: (f"p{i}@x.com", "N" * 150, 60) for i in range(1, 6_001)}  # ~330 bytes per event
    with people_db(ppl) as con, TrackingEmulator(KEY) as em:
        (o,) = run_sync(tracking_spec(em.url), con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "ok" and len(em.trait_members("active")) == 6_000
        sizes = [len(r.body) for r in em.log]
        assert max(sizes) <= 500_000 and max(em.batch_sizes) <= 2_500 and em.dropped == []
        assert len(em.log) <= -(-sum(sizes) // (500_000 - 1_000))  # full batches: near the minimum


def test_sync_tracking_event_over_32kb_is_rejected_before_sending(tmp_path):
    ppl = {1: ("a@x.com", "A", 60), 2: ("b@x.com", "B" * 40_000, 60)}
    with people_db(ppl) as con, TrackingEmulator(KEY) as em:
        (o,) = run_sync(tracking_spec(em.url), con, tmp_path / "s.duckdb", env=ENV)
        assert o.status == "partial" and o.counts == dict(added=1, removed=0, updated=0, rejected=1, retried=0)
        assert em.trait_members("active") == {"a@x.com"} and em.dropped == []
        [reason] = o.reasons
        assert "the destination takes at most 32000" in reason


def test_sync_tracking_write_key_must_come_from_the_environment(tmp_path):
    import segrules
    from segrules.errors import SpecError
    from segrules.sync import plan_syncs
    text = tracking_spec("http://127.0.0.1:9").replace("${SEGMENT_WRITE_KEY}", "literal-key")
    spec = segrules.load_text(text, "spec.yaml")
    with pytest.raises(SpecError) as info:
        plan_syncs(spec.document, None, spec.registry.destinations, env={})
    assert [d.code for d in info.value.diagnostics] == ["SR815"]


def test_sync_tracking_segment_and_rudderstack_share_the_client():
    import segrules
    from segrules_tracking.client import TrackingClient
    from segrules.plugin import SyncContext
    reg = segrules.default_registry()
    ctx = SyncContext("s", "d", "mirror", "email", (), "active")
    seg = reg.destinations["segment"]
    rud = reg.destinations["rudderstack"]
    a = seg.open(seg.options.model_validate({"write_key": "k"}), ctx)
    b = rud.open(rud.options.model_validate({"write_key": "k", "data_plane_url": "https://dp.example"}), ctx)
    try:
        assert type(a) is type(b) is TrackingClient
        assert str(a.http.client.base_url).startswith("https://api.segment.io")
        assert str(b.http.client.base_url).startswith("https://dp.example")
    finally:
        a.close(), b.close()


def test_sync_tracking_malformed_success_acknowledges_nothing(tmp_path):
    ppl = people(50)
    state = tmp_path / "s.duckdb"
    with people_db(ppl) as con, TrackingEmulator(KEY, malformed=1.0) as em:
        text = tracking_spec(em.url)
        (o,) = run_sync(text, con, state, env=ENV)
        assert o.status == "failed" and "not JSON" in o.error or "without" in o.error
        store = open_state(state)
        assert SyncState(store).acknowledged("active_cdp").count().to_pyarrow().as_py() == 0
        store.con.disconnect()
        em.malformed = 0.0
        (o,) = run_sync(text, con, state, env=ENV)
        assert o.status == "ok" and em.trait_members("active") == emails(ppl)
        assert em.duplicates == len(members(ppl))  # the replay carried the same messageIds


def test_sync_tracking_retry_budget_ends_partial_and_the_next_run_resumes(tmp_path):
    """Every other call fails: a budget of 3 retries is spent part-way, the run ends partial with
    exactly the acknowledged rows in state, and the next run sends only the rest."""
    ppl = {i: (f"p{i}@x.com", "N" * 3_000, 60) for i in range(1, 1_201)}  # ~3 KB events: 8 batches
    state = tmp_path / "s.duckdb"
    with people_db(ppl) as con, TrackingEmulator(KEY, faults=Faults(rate_5xx=0.5, seed=4)) as em:
        text = tracking_spec(em.url, options="\n  retry_budget: 3\n  concurrency: 1",
                             fields="{name: first_name}")
        (o,) = run_sync(text, con, state, env=ENV)
        assert o.status == "partial" and "retry budget spent: 3 retries" in o.error
        store = open_state(state)
        acked = set(SyncState(store).acknowledged("active_cdp").to_pyarrow()["identifier"].to_pylist())
        store.con.disconnect()
        assert acked == em.trait_members("active") and 0 < len(acked) < len(ppl)
        assert o.counts["added"] == len(acked)
        em.faults.rate_5xx = 0.0
        (o2,) = run_sync(text, con, state, env=ENV)
        assert o2.status == "ok" and em.trait_members("active") == emails(ppl)
        assert o2.counts["added"] == len(ppl) - len(acked) and em.duplicates == 0
