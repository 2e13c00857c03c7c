"""``segrules sync`` and ``segrules sync-log`` from the command line; secrets never leak."""

from __future__ import annotations

from pathlib import Path

import ibis
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

from segrules.cli import main
from emulators import WebhookReceiver

from sync_helpers import spec_text, write_people
from test_sync_engine import ENV, PEOPLE, SECRET, hook_spec

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path):
    db = tmp_path / "people.duckdb"
    con = ibis.duckdb.connect(str(db))
    write_people(con, PEOPLE)
    con.disconnect()
    return tmp_path, db


def _invoke(args, env=None):
    return CliRunner().invoke(main, args, env={"COLUMNS": "200", **(env or {})}, catch_exceptions=False)


def _state_text(state) -> str:
    con = ibis.duckdb.connect(str(state))
    text = "\n".join(str(con.table(t).to_pyarrow().to_pylist()) for t in con.list_tables())
    con.disconnect()
    return text


def test_sync_cli_sync_dry_run_then_sync_then_log(project):
    tmp, db = project
    state = tmp / "state.duckdb"
    with WebhookReceiver(secret=SECRET) as hook:
        spec = tmp / "spec.yaml"
        spec.write_text(hook_spec(hook.url))
        env = {"HOOK_SECRET": SECRET}
        dry = _invoke(["sync", str(spec), "--db", str(db), "--state", str(state), "--dry-run"], env)
        assert dry.exit_code == 0, dry.output
        assert "dry run, nothing sent" in dry.output and "ann@x.com" in dry.output
        assert hook.batches == []
        res = _invoke(["sync", str(spec), "--db", str(db), "--state", str(state), "--sync", "active_hook"], env)
        assert res.exit_code == 0, res.output
        assert len(hook.members) == 4
        log = _invoke(["sync-log", "--state", str(state)])
        assert log.exit_code == 0 and "active_hook" in log.output and "ok" in log.output
        run_id = next(line.split("│")[1].strip() for line in log.output.splitlines() if "active_hook" in line)
        changes = _invoke(["sync-log", "--state", str(state), "--run", run_id[:6], "--export", str(tmp / "c.csv")])
        assert changes.exit_code == 0, changes.output
        exported = pacsv.read_csv(tmp / "c.csv").to_pylist()
        assert sorted(str(r["key"]) for r in exported) == ["1", "2", "3", "5"]
        assert {r["status"] for r in exported} == {"ok"}
        assert SECRET not in dry.output + res.output + log.output + changes.output


def test_sync_cli_secret_never_printed_or_stored(project):
    tmp, db = project
    state = tmp / "state.duckdb"
    with WebhookReceiver(secret="another-secret") as hook:  # our signature is refused: 401
        spec = tmp / "spec.yaml"
        spec.write_text(hook_spec(hook.url))
        res = _invoke(["sync", str(spec), "--db", str(db), "--state", str(state)], {"HOOK_SECRET": SECRET})
    assert res.exit_code == 1
    assert "refused" in res.output and SECRET not in res.output
    assert SECRET not in _state_text(state)


def test_sync_cli_missing_secret_is_bad_input(project):
    tmp, db = project
    spec = tmp / "spec.yaml"
    spec.write_text(hook_spec("http://127.0.0.1:9"))
    res = _invoke(["sync", str(spec), "--db", str(db), "--state", str(tmp / "s.duckdb")])
    assert res.exit_code == 2
    assert "SR814" in res.output and "HOOK_SECRET" in res.output and f"{spec}:" in res.output


def test_sync_cli_max_removals_exit_1(project):
    tmp, db = project
    state = tmp / "state.duckdb"
    with WebhookReceiver(secret=SECRET) as hook:
        spec = tmp / "spec.yaml"
        spec.write_text(hook_spec(hook.url, extra="  max_removals: 0"))
        env = {"HOOK_SECRET": SECRET}
        assert _invoke(["sync", str(spec), "--db", str(db), "--state", str(state)], env).exit_code == 0
        con = ibis.duckdb.connect(str(db))
        write_people(con, {k: (p[0], p[1], 0) for k, p in PEOPLE.items()})
        con.disconnect()
        sent = len(hook.batches)
        res = _invoke(["sync", str(spec), "--db", str(db), "--state", str(state)], env)
        assert res.exit_code == 1 and "SR820" in res.output and len(hook.batches) == sent


def test_sync_cli_spec_without_syncs(project):
    tmp, db = project
    spec = tmp / "spec.yaml"
    spec.write_text(spec_text("x:\n  type: webhook\n  url: http://127.0.0.1:9", "").replace("syncs:\n", ""))
    res = _invoke(["sync", str(spec), "--db", str(db), "--state", str(tmp / "s.duckdb")])
    assert res.exit_code == 2 and "SR817" in res.output


def test_sync_cli_docs_example_runs_on_demo_data(tmp_path, monkeypatch):
    """docs/examples/sync_shop.yaml against the demo shop, both destinations local."""
    from segrules.demo import write_demo_data
    db = tmp_path / "shop.duckdb"
    write_demo_data(db, customers=600, seed=3)
    monkeypatch.chdir(tmp_path)
    text = (ROOT / "docs" / "examples" / "sync_shop.yaml").read_text()
    with WebhookReceiver(secret="s") as hook:
        spec = tmp_path / "sync_shop.yaml"
        spec.write_text(text)
        res = _invoke(["sync", str(spec), "--db", str(db)], {"CRM_WEBHOOK_SECRET": "s", "CRM_WEBHOOK_URL": hook.url})
        assert res.exit_code == 0, res.output
        table = ibis.duckdb.connect(str(tmp_path / "audiences.duckdb")).table("at_risk_members").to_pyarrow()
        assert table.num_rows > 0
        assert set(table["key"].to_pylist()) == set(hook.members)


def test_sync_cli_one_run_of_a_sync_at_a_time(project):
    """A second run of a sync while one runs is SR757 before it reads any state (a dry run, which
    writes nothing, still works); the lock is per sync."""
    from segrules.state.lock import sync_locks
    tmp, db = project
    state = tmp / "state.duckdb"
    with WebhookReceiver(secret=SECRET) as hook:
        spec = tmp / "spec.yaml"
        spec.write_text(hook_spec(hook.url))
        args = ["sync", str(spec), "--db", str(db), "--state", str(state)]
        with sync_locks(str(state), ["active_hook"]):
            busy = _invoke(args, ENV)
            dry = _invoke([*args, "--dry-run"], ENV)
        assert busy.exit_code == 2 and hook.batches == []
        assert "error[SR757]: another run of sync 'active_hook' is running since" in busy.output
        assert dry.exit_code == 0, dry.output
        with sync_locks(str(state), ["some_other_sync"]):
            assert _invoke(args, ENV).exit_code == 0
        assert len(hook.members) == 4


def test_sync_state_seq_stays_above_stored_after_the_clock_goes_back(tmp_path, monkeypatch):
    import time

    from segrules.state import open_state
    from segrules.sync.state import SyncState
    state = SyncState(open_state(tmp_path / "s.duckdb"))
    state.ensure()
    state.record("r1", "crm", "add", [{"key": "1", "status": "ok"}])
    stored = state.store.table("sync_changes").seq.max().to_pyarrow().as_py()
    monkeypatch.setattr(time, "time_ns", lambda: 1_000)  # the clock set back before the next run
    later = SyncState(state.store)
    later.ensure()
    assert later.next_seq() > stored
