"""The sync engine end to end against the local webhook receiver and the table destination:
incremental diffs, modes, guards, identifier checks, dry run, the run log, secrets."""

from __future__ import annotations

import os
import uuid

import ibis
import pytest

from segrules.state import open_state
from segrules.sync import SyncState
from emulators import Faults, WebhookReceiver

from sync_helpers import memory_con, members, people_db, run_sync, spec_text, write_people

SECRET = "whsec-9f8e7d6c5b4a"
FAST = "max_attempts: 20\n  backoff_base: 0.001\n  backoff_cap: 0.01"


def hook_spec(url: str, mode: str = "mirror", extra: str = "", batch: int = 2, signed: bool = True,
              options: str = "", timeout: float = 2.0) -> str:
    secret = "\n  secret: ${HOOK_SECRET}" if signed else ""
    return spec_text(f"""
hook:
  type: webhook
  url: {url}{secret}
  batch_size: {batch}
  {FAST}
  timeout: {timeout}{options}
""", f"""
active_hook:
  segment: active
  destination: hook
  identify_by: email
  fields: {{name: first_name, ds: double_score}}
  mode: {mode}
{extra}""")


ENV = {"HOOK_SECRET": SECRET}
PEOPLE = {1: ("ann@x.com", "Ann", 60), 2: ("bo@x.com", "Bo", 70), 3: ("cy@x.com", "Cy", 80),
          4: ("di@x.com", "Di", 10), 5: ("ed@x.com", "Ed", 90)}


@pytest.fixture
def con():
    with people_db(PEOPLE) as c:
        yield c


def _expected(people):
    return {k: (p[0].lower(), {"name": p[1], "ds": p[2] * 2}) for k, p in members(people).items()}


def _sent_rows(receiver) -> int:
    return sum(len(b["rows"]) for b in receiver.batches)


def test_sync_engine_incremental_adds_removes_updates(con, tmp_path):
    state = tmp_path / "state.duckdb"
    people = dict(PEOPLE)
    with WebhookReceiver(secret=SECRET) as hook:
        (o,) = run_sync(hook_spec(hook.url), con, state, env=ENV)
        assert o.status == "ok" and o.counts["added"] == 4
        assert hook.members == _expected(people)
        assert all(len(b["rows"]) <= 2 for b in hook.batches)  # batch_size
        sent = _sent_rows(hook)
        (o,) = run_sync(hook_spec(hook.url), con, state, env=ENV)
        assert _sent_rows(hook) == sent and o.counts == dict(added=0, removed=0, updated=0, rejected=0, retried=0)
        people[1] = ("ann@x.com", "Anna", 60)      # update
        people[2] = ("bo@x.com", "Bo", 5)          # leaves
        people[4] = ("di@x.com", "Di", 55)         # joins
        people[3] = ("cy@new.com", "Cy", 80)       # identifier changes: remove old, add new
        write_people(con, people)
        before = len(hook.batches)
        (o,) = run_sync(hook_spec(hook.url), con, state, env=ENV)
        assert (o.counts["added"], o.counts["removed"], o.counts["updated"]) == (2, 2, 1)
        assert hook.members == _expected(people)
        assert hook.replays == 0
        ops = [b["op"] for b in hook.batches[before:]]
        assert ops.index("remove") < ops.index("add"), "removals go first (an identifier may move)"


def test_sync_engine_invalid_identifiers_rejected_before_sending(con, tmp_path):
    people = {**PEOPLE, 6: ("not-an-email", "X", 99), 7: ("ANN@x.com ", "Dup", 99), 8: (None, "N", 99)}
    write_people(con, people)
    with WebhookReceiver(secret=SECRET) as hook:
        (o,) = run_sync(hook_spec(hook.url), con, tmp_path / "s.duckdb", env=ENV)
        sent = {r["key"] for b in hook.batches for r in b["rows"]}
    assert sent == {"1", "2", "3", "5"}
    assert o.counts["rejected"] == 3 and o.status == "partial"
    assert set(o.reasons) == {"invalid email", "missing email", "duplicate email: another member has the same one"}


def test_sync_engine_vendor_rejections_are_retried_next_run(con, tmp_path):
    state = tmp_path / "s.duckdb"
    with WebhookReceiver(secret=SECRET, reject={"2": "mailbox does not exist"}) as hook:
        (o,) = run_sync(hook_spec(hook.url), con, state, env=ENV)
        assert o.counts["rejected"] == 1 and o.reasons == {"mailbox does not exist": 1}
        hook.reject.clear()
        (o,) = run_sync(hook_spec(hook.url), con, state, env=ENV)
        assert o.counts["added"] == 1 and o.counts["retried"] == 1
        assert hook.members == _expected(PEOPLE)
    log = SyncState(open_state(state)).changes("")
    assert ("2", "rejected", "mailbox does not exist") in {(r["key"], r["status"], r["reason"]) for r in log.to_pylist()}


def test_sync_engine_modes(con, tmp_path):
    people = dict(PEOPLE)
    with WebhookReceiver(secret=SECRET) as hook:
        run_sync(hook_spec(hook.url, "add_only"), con, tmp_path / "a.duckdb", env=ENV)
        people[1] = ("ann@x.com", "Ann", 1)
        write_people(con, people)
        (o,) = run_sync(hook_spec(hook.url, "add_only"), con, tmp_path / "a.duckdb", env=ENV)
        assert o.counts["removed"] == 0 and "1" in hook.members
    with WebhookReceiver(secret=SECRET) as hook:
        run_sync(hook_spec(hook.url, "upsert"), con, tmp_path / "u.duckdb", env=ENV)
        assert {b["op"] for b in hook.batches} == {"upsert"}


def test_sync_engine_max_removals_refuses_and_sends_nothing(con, tmp_path):
    state = tmp_path / "s.duckdb"
    with WebhookReceiver(secret=SECRET) as hook:
        run_sync(hook_spec(hook.url, extra="  max_removals: 25%"), con, state, env=ENV)
        batches = len(hook.batches)
        write_people(con, {k: (p[0], p[1], 0 if k in (1, 2) else p[2]) for k, p in PEOPLE.items()})
        (o,) = run_sync(hook_spec(hook.url, extra="  max_removals: 25%"), con, state, env=ENV)
        assert o.status == "refused" and "would remove 2 of 4" in o.error
        assert len(hook.batches) == batches
        (o,) = run_sync(hook_spec(hook.url, extra="  max_removals: 2"), con, state, env=ENV)
        assert o.status == "ok" and set(hook.members) == {"3", "5"}


def test_sync_engine_dry_run_sends_nothing_and_keeps_state(con, tmp_path):
    state = tmp_path / "s.duckdb"
    with WebhookReceiver(secret=SECRET) as hook:
        (o,) = run_sync(hook_spec(hook.url), con, state, env=ENV, dry_run=True)
        assert o.counts["added"] == 4 and [r.key for r in o.samples["add"]]
        assert hook.batches == []
        (o,) = run_sync(hook_spec(hook.url), con, state, env=ENV)
        assert o.counts["added"] == 4


def test_sync_engine_dry_run_samples_are_the_smallest_keys_in_order(tmp_path):
    """The samples a dry run prints are the same on every run (the diff's row order is not): the
    first keys in key (text) order, like the rejected samples."""
    people = {k: (f"p{k}@x.com", f"P{k}", 60) for k in range(1, 41)}
    with people_db(people) as con, WebhookReceiver(secret=SECRET) as hook:
        for _ in range(3):
            (o,) = run_sync(hook_spec(hook.url), con, tmp_path / "s.duckdb", env=ENV, dry_run=True)
            assert o.counts["added"] == 40
            assert [(r.key, r.identifier) for r in o.samples["add"]] == [
                (k, f"p{k}@x.com") for k in sorted(map(str, range(1, 41)))[:5]]


def test_sync_engine_full_resync_sends_everything_again(con, tmp_path):
    state = tmp_path / "s.duckdb"
    with WebhookReceiver(secret=SECRET) as hook:
        run_sync(hook_spec(hook.url), con, state, env=ENV)
        (o,) = run_sync(hook_spec(hook.url), con, state, env=ENV, full_resync=True)
        assert o.counts["added"] == 4 and hook.members == _expected(PEOPLE)


def test_sync_engine_converges_under_faults(con, tmp_path):
    """Random 429s, 5xx, stalls past the timeout, dropped connections (before and after the change
    was applied): runs fail part way, re-runs finish the job, the receiver ends at the membership."""
    state = tmp_path / "s.duckdb"
    faults = Faults(rate_429=0.15, rate_5xx=0.15, rate_timeout=0.05, rate_drop=0.1, after=0.1, stall=0.7, seed=7)
    people = {i: (f"p{i}@x.com", f"N{i}", (i * 37) % 100) for i in range(1, 61)}
    write_people(con, people)
    spec = hook_spec("{url}", batch=3, timeout=0.5).replace("max_attempts: 20", "max_attempts: 3")
    with WebhookReceiver(secret=SECRET, faults=faults) as hook:
        statuses = []
        for _ in range(40):
            (o,) = run_sync(spec.replace("{url}", hook.url), con, state, env=ENV)
            statuses.append(o.status)
            if o.status == "ok" and hook.members == _expected(people):
                break
        assert "failed" in statuses, "the faults never made a run fail: the test proves nothing"
        assert hook.members == _expected(people)
        people = {i: (p[0], p[1], (p[2] + 30) % 100) for i, p in people.items()}
        write_people(con, people)
        for _ in range(40):
            (o,) = run_sync(spec.replace("{url}", hook.url), con, state, env=ENV)
            if o.status == "ok":
                break
        assert hook.members == _expected(people)
        assert set(faults.injected) >= {"rate_429", "rate_5xx", "rate_drop", "after"}


def test_sync_engine_table_destination_mirrors_atomically(con, tmp_path):
    out = tmp_path / "out.duckdb"
    text = spec_text(f"t:\n  type: table\n  db: {out}\n  table: active_people\n  changes_table: active_changes",
                     "to_table:\n  segment: active\n  destination: t\n  identify_by: email\n"
                     "  fields: {name: first_name}")
    state = tmp_path / "s.duckdb"
    run_sync(text, con, state)
    people = dict(PEOPLE)
    people[2] = ("bo@x.com", "Bo", 0)
    write_people(con, people)
    (o,) = run_sync(text, con, state)
    assert o.status == "ok" and o.counts["removed"] == 1
    target = ibis.duckdb.connect(str(out))
    table = target.table("active_people").to_pyarrow()
    assert sorted(table["key"].to_pylist()) == sorted(members(people))
    changes = target.table("active_changes").to_pyarrow().to_pylist()
    assert [(c["op"], c["key"]) for c in changes].count(("remove", "2")) == 1
    target.disconnect()


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_sync_engine_file_destination_snapshot_and_changes(con, tmp_path, kind):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    read = pacsv.read_csv if kind == "csv" else pq.read_table
    snapshot, changes = tmp_path / f"active.{kind}", tmp_path / "changes"
    text = spec_text(f"f:\n  type: {kind}\n  path: {snapshot}\n  changes_dir: {changes}",
                     "to_file:\n  segment: active\n  destination: f\n  identify_by: email\n"
                     "  fields: {name: first_name}")
    state = tmp_path / "s.duckdb"
    run_sync(text, con, state)
    people = {**PEOPLE, 2: ("bo@x.com", "Bo", 0)}
    write_people(con, people)
    (o,) = run_sync(text, con, state)
    assert o.status == "ok"
    assert sorted(str(k) for k in read(snapshot)["key"].to_pylist()) == sorted(members(people))
    files = sorted(changes.iterdir())
    assert len(files) == 2
    last = read(files[-1]).to_pylist()
    assert [(r["op"], str(r["key"])) for r in last] == [("remove", "2")]


@pytest.mark.skipif(not os.environ.get("SEGRULES_POSTGRES_URL"), reason="needs SEGRULES_POSTGRES_URL")
def test_sync_engine_state_in_a_warehouse_schema(con):
    """State in PostgreSQL (``--state postgres://…#schema``): the diff runs there; incremental."""
    schema = f"sync_test_{uuid.uuid4().hex[:8]}"
    url = f"{os.environ['SEGRULES_POSTGRES_URL']}#{schema}"
    people = dict(PEOPLE)
    try:
        with WebhookReceiver(secret=SECRET) as hook:
            (o,) = run_sync(hook_spec(hook.url), con, url, env=ENV)
            assert o.status == "ok" and hook.members == _expected(people)
            people[1] = ("ann@x.com", "Ann", 0)
            people[4] = ("di@x.com", "Dee", 99)
            write_people(con, people)
            (o,) = run_sync(hook_spec(hook.url), con, url, env=ENV)
            assert (o.counts["added"], o.counts["removed"], o.counts["updated"]) == (1, 1, 0)
            assert hook.members == _expected(people)
        store = open_state(url)
        assert {"sync_changes", "sync_runs"} <= set(store.tables())
    finally:
        pg = ibis.connect(os.environ["SEGRULES_POSTGRES_URL"])
        pg.drop_database(schema, force=True, cascade=True)
        pg.disconnect()
