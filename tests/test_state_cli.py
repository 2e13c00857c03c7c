"""The state-store commands on damaged or foreign stores, bad guard values, unknown run ids and
``--limit``: clear errors with exit 2, and one meaning of ``--limit`` (0: all) everywhere."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

from segrules.cli import main
from segrules.demo import write_demo_data
from segrules.errors import BackendError
from segrules.history import HistoryStore
from segrules.state import open_state
from segrules.sync.state import SyncState

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "segment_specs" / "ecommerce.yaml"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "shop.duckdb"
    write_demo_data(path, customers=150, seed=3, now=datetime(2026, 10, 1))
    return path


@pytest.fixture(scope="module")
def snapshotted(shop, tmp_path_factory) -> Path:
    state = tmp_path_factory.mktemp("state") / "state.duckdb"
    for day in ("2026-09-01", "2026-09-20"):
        assert cli("run", SPEC, "--db", shop, "--as-of", day, "--snapshot", "--state", state).exit_code == 0
    return state


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], env={"COLUMNS": "200"}, catch_exceptions=False)


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


# --- damaged and foreign stores ----------------------------------------------------------------------
@pytest.mark.parametrize("command", ["changes", "plan"])
def test_history_truncated_store_is_a_clear_error(shop, snapshotted, tmp_path, command):
    damaged = _copy(snapshotted, tmp_path / "damaged.duckdb")
    os.truncate(damaged, damaged.stat().st_size // 2)
    args = ["--db", shop] if command == "plan" else []
    result = cli(command, SPEC, *args, "--state", damaged)
    assert result.exit_code == 2
    assert re.search(r"error\[SR(755|701)\]: .*damaged\.duckdb", result.output), result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["changes", "plan", "run"])
def test_history_foreign_runs_table_is_sr755(shop, tmp_path, command):
    state = tmp_path / "foreign.duckdb"
    con = duckdb.connect(str(state))
    con.execute("create table history_runs (id integer, note varchar)")
    con.close()
    args = {"changes": [], "plan": ["--db", shop], "run": ["--db", shop, "--snapshot"]}[command]
    result = cli(command, SPEC, *args, "--state", state)
    assert result.exit_code == 2
    assert ("error[SR755]: the state store " + str(state) + " has a table history_runs that was not made by "
            "segrules: it lacks the column(s) run_id, seq") in result.output


def test_history_plan_max_change_rejects_nan_inf_and_negative(shop, snapshotted):
    for bad, why in (("nan%", "finite"), ("NaN", "finite"), ("inf%", "finite"), ("-inf", "finite"),
                     ("-5%", "must not be negative"), ("lots", "expected a percentage")):
        result = cli("plan", SPEC, "--db", shop, "--state", snapshotted, "--max-change", bad)
        assert result.exit_code == 2, (bad, result.output)
        assert f"error[SR754]: --max-change {bad!r}: " in result.output and why in result.output


def test_history_plan_max_change_still_guards(shop, snapshotted, tmp_path):
    changed = tmp_path / "spec.yaml"
    changed.write_text(SPEC.read_text().replace("vip_threshold: 500", "vip_threshold: 50"))
    assert cli("plan", changed, "--db", shop, "--state", snapshotted, "--max-change", "1e9%").exit_code == 0
    assert cli("plan", changed, "--db", shop, "--state", snapshotted, "--max-change", "0%").exit_code == 1


# --- --state URL#schema -----------------------------------------------------------------------------------
@pytest.mark.parametrize("schema", ["Mixed", "1abc", "has-dash", "x" * 64, 'q"uote'])
def test_state_schema_must_be_a_lower_case_identifier(schema):
    with pytest.raises(BackendError) as exc:
        open_state(f"postgres://nobody@127.0.0.1:1/none#{schema}")  # refused before connecting
    (d,) = exc.value.diagnostics
    assert d.code == "SR758" and "lower-case SQL identifier" in d.message


@pytest.mark.skipif(not os.environ.get("SEGRULES_POSTGRES_URL"), reason="needs SEGRULES_POSTGRES_URL")
def test_state_mixed_case_schema_does_not_wedge_the_store(shop):
    url = os.environ["SEGRULES_POSTGRES_URL"]
    result = cli("run", SPEC, "--db", shop, "--snapshot", "--state", url + "#Mixed")
    assert result.exit_code == 2 and "error[SR758]" in result.output and "use #mixed" in result.output
    import ibis
    pg = ibis.connect(url)
    pg.drop_database("mixed", force=True, cascade=True)
    pg.disconnect()
    for _ in range(2):  # created, then found again
        result = cli("run", SPEC, "--db", shop, "--snapshot", "--state", url + "#mixed")
        assert result.exit_code == 0, result.output
    assert [r.seq for r in HistoryStore.open(url + "#mixed").runs("shop")] == [1, 2]


# --- unknown run ids and --limit ------------------------------------------------------------------------
def test_history_changes_limit_zero_prints_every_event(snapshotted):
    n = HistoryStore.open(snapshotted).events("shop").count().to_pyarrow().as_py()
    everything = cli("changes", SPEC, "--state", snapshotted, "--since", "latest", "--limit", 0)
    assert everything.exit_code == 0
    latest = HistoryStore.open(snapshotted).resolve("shop")
    shown = cli("changes", SPEC, "--state", snapshotted, "--limit", 0)
    events = HistoryStore.open(snapshotted).events("shop", run_id=latest.run_id).count().to_pyarrow().as_py()
    assert 20 < events < n
    assert shown.output.count(latest.run_id) == events and "more (use" not in shown.output
    two = cli("changes", SPEC, "--state", snapshotted, "--limit", 2)
    assert two.output.count(latest.run_id) == 2 and f"… {events - 2:,} more" in two.output
    assert cli("changes", SPEC, "--state", snapshotted, "--limit", -1).exit_code == 2


def test_history_unknown_run_id_exits_2_everywhere(shop, snapshotted):
    for args in (["changes", SPEC, "--state", snapshotted, "--since", "nope"],
                 ["plan", SPEC, "--db", shop, "--state", snapshotted, "--against", "nope"]):
        result = cli(*args)
        assert result.exit_code == 2 and "error[SR751]: no run of spec 'shop' matches 'nope'" in result.output


@pytest.fixture
def sync_log(tmp_path) -> tuple[Path, list[str]]:
    """A state store with 25 recorded runs of one sync, the last one with 30 row changes."""
    path = tmp_path / "state.duckdb"
    state = SyncState(open_state(path))
    state.ensure()
    run_ids = []
    for i in range(25):
        run_id = f"run{i:02d}abcdef"
        started = datetime(2026, 10, 1, 0, i)
        state.log_run(run_id, "crm", "webhook", "mirror", started, "running")
        if i == 24:
            state.record(run_id, "crm", "add", [{"key": str(k), "identifier": f"{k}@x.com", "status": "ok"}
                                                for k in range(30)])
        state.log_run(run_id, "crm", "webhook", "mirror", started, "ok", {"added": 30 if i == 24 else 0},
                      ended_at=started)
        run_ids.append(run_id)
    state.store.close()
    return path, run_ids


def test_sync_log_unknown_run_exits_2(sync_log):
    path, run_ids = sync_log
    result = cli("sync-log", "--state", path, "--run", "zzz")
    assert result.exit_code == 2 and "error[SR774]: no sync run matches 'zzz'" in result.output
    assert run_ids[-1] in result.output  # the hint lists recent runs
    ambiguous = cli("sync-log", "--state", path, "--run", "run0")
    assert ambiguous.exit_code == 2 and "error[SR774]: 10 sync runs match" in ambiguous.output
    other_sync = cli("sync-log", "--state", path, "--run", run_ids[-1], "--sync", "other")
    assert other_sync.exit_code == 2 and "error[SR774]: no sync run of sync 'other' matches" in other_sync.output
    assert cli("sync-log", "--state", path, "--run", run_ids[-1][:5]).exit_code == 0


def test_sync_log_export_writes_every_row_unless_limited(sync_log, tmp_path):
    path, run_ids = sync_log
    for args, rows in ((["--export", tmp_path / "all.csv"], 25), (["--export", tmp_path / "all.csv", "--limit", 0], 25),
                       (["--export", tmp_path / "all.csv", "--limit", 7], 7),
                       (["--run", run_ids[-1], "--export", tmp_path / "all.csv"], 30)):
        result = cli("sync-log", "--state", path, *args)
        assert result.exit_code == 0, result.output
        assert f"wrote {rows} rows" in result.output and pacsv.read_csv(tmp_path / "all.csv").num_rows == rows


def test_sync_log_limit_zero_shows_every_row(sync_log):
    path, run_ids = sync_log
    shown = lambda *a: sum(r in cli("sync-log", "--state", path, *a).output for r in run_ids)  # noqa: E731
    assert shown() == 20 and shown("--limit", 0) == 25 and shown("--limit", 3) == 3
