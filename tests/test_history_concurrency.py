"""One snapshot writer per spec: parallel ``run --snapshot`` processes (through the CLI) on a DuckDB
file and on a PostgreSQL schema are serialised by the snapshot lock, get consecutive sequence
numbers, and each is diffed against the one committed before it; a SIGKILLed snapshot's rows are
removed by the next run; a busy lock is a clear SR757."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import ibis
import pytest
from click.testing import CliRunner

from segrules.cli import main
from segrules.history import HistoryStore
from segrules.state.lock import snapshot_lock
from segrules.history.store import COUNTS, EVENTS, MEMBERS, STARTS

POSTGRES_URL = os.environ.get("SEGRULES_POSTGRES_URL")
WRITERS = 8
KEYS = 40

# Run k (param k = 0..7) has in `slot` the keys with id % 8 == k and in `parity` those with
# id % 2 == k % 2: consecutive runs always differ, so every run writes events whatever order the
# processes get the lock in; two runs diffed against the same previous one would enter a key twice.
SPEC = """\
version: 1
name: flipper
entity: {table: users, key: id}
params:
  k: 0
segments:
  slot: {where: id % 8 == $k}
  parity: {where: id % 2 == $k % 2}
"""


@pytest.fixture
def project(tmp_path) -> tuple[Path, Path]:
    data = tmp_path / "data.duckdb"
    con = duckdb.connect(str(data))
    con.execute(f"create table users as select range as id from range({KEYS})")
    con.close()
    spec = tmp_path / "flipper.yaml"
    spec.write_text(SPEC)
    return spec, data


@pytest.fixture(params=["duckdb", "postgres"])
def state_url(request, tmp_path):
    if request.param == "duckdb":
        yield str(tmp_path / "state.duckdb")
        return
    if not POSTGRES_URL:
        pytest.skip("needs SEGRULES_POSTGRES_URL")
    schema = f"segrules_lock_{uuid.uuid4().hex[:8]}"
    yield f"{POSTGRES_URL}#{schema}"
    pg = ibis.connect(POSTGRES_URL)
    pg.drop_database(schema, force=True, cascade=True)
    pg.disconnect()


def segrules(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "segrules.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def test_history_parallel_snapshots_are_serialised(project, state_url):
    spec, data = project
    with ThreadPoolExecutor(WRITERS) as pool:
        results = list(pool.map(lambda k: segrules("run", spec, "--db", data, "--as-of", "2026-10-01", "--param",
                                                   f"k={k}", "--snapshot", "--state", state_url,
                                                   "--lock-timeout", "10min"), range(WRITERS)))
    for result in results:
        assert result.returncode == 0, result.stderr
    store = HistoryStore.open(state_url)
    runs = sorted(store.runs("flipper"), key=lambda r: r.seq)
    assert [r.seq for r in runs] == list(range(1, WRITERS + 1))  # consecutive and distinct
    assert len({r.run_id for r in runs}) == WRITERS
    events = store.events("flipper").to_pyarrow().to_pylist()  # in seq order
    seq_of = {r.run_id: r.seq for r in runs}
    by_key = defaultdict(list)
    for e in events:
        by_key[(e["segment"], e["key"])].append((seq_of[e["run_id"]], e["event"]))
    assert len(by_key) == 2 * KEYS  # every key entered some segment at some point
    for key, seen in by_key.items():
        kinds = [kind for _, kind in sorted(seen)]
        assert kinds == ["entered", "exited"] * (len(kinds) // 2) + ["entered"] * (len(kinds) % 2), (key, seen)
    # each run was diffed against the run committed just before it: its members are the previous
    # run's members plus its entries minus its exits
    members = {r.seq: {(m["segment"], m["key"]) for m in store.members(r.run_id).to_pyarrow().to_pylist()}
               for r in runs}
    for n in range(1, WRITERS + 1):
        entered = {k for k, seen in by_key.items() if (n, "entered") in seen}
        exited = {k for k, seen in by_key.items() if (n, "exited") in seen}
        assert members[n] == (members.get(n - 1, set()) | entered) - exited
    assert store.abandoned("flipper") == []


KILLER = """
import os, signal, sys
from segrules.history import store as store_module
from segrules.cli import main

original = store_module.HistoryStore.insert

def insert(self, name, data):
    original(self, name, data)
    if name == "history_events":
        os.kill(os.getpid(), signal.SIGKILL)  # members and events written, no counts, no run row

store_module.HistoryStore.insert = insert
main(sys.argv[1:])
"""


def _rows(store: HistoryStore, table: str, run_id: str) -> int:
    t = store.table(table)
    return t.filter(t.run_id == run_id).count().to_pyarrow().as_py()


def test_history_killed_snapshot_rows_are_removed_by_the_next_run(project, state_url):
    spec, data = project
    first = segrules("run", spec, "--db", data, "--param", "k=0", "--snapshot", "--state", state_url)
    assert first.returncode == 0, first.stderr
    killed = subprocess.run([sys.executable, "-c", KILLER, "run", str(spec), "--db", str(data), "--param", "k=1",
                             "--snapshot", "--state", state_url], capture_output=True, text=True, timeout=600)
    assert killed.returncode == -9, killed.stderr  # SIGKILL half-way through the writes
    store = HistoryStore.open(state_url)
    (dead,) = store.abandoned("flipper")
    assert _rows(store, MEMBERS, dead) > 0 and _rows(store, EVENTS, dead) > 0  # left behind by the kill
    assert [r.seq for r in store.runs("flipper")] == [1]
    store.state.close()
    after = segrules("run", spec, "--db", data, "--param", "k=2", "--snapshot", "--state", state_url)
    assert after.returncode == 0, after.stderr
    assert f"removed the rows of 1 run(s) killed before they committed: {dead}" in after.stdout
    store = HistoryStore.open(state_url)
    assert all(_rows(store, t, dead) == 0 for t in (MEMBERS, EVENTS, COUNTS, STARTS))
    assert store.abandoned("flipper") == []
    assert [r.seq for r in store.runs("flipper")] == [1, 2]  # the killed run's number is reused


def test_history_snapshot_while_another_runs_is_sr757(project, state_url):
    spec, data = project
    with snapshot_lock(state_url, "flipper"):
        result = CliRunner().invoke(main, ["run", str(spec), "--db", str(data), "--snapshot", "--state",
                                           state_url], catch_exceptions=False)
        waited = CliRunner().invoke(main, ["backfill", str(spec), "--db", str(data), "--from", "2026-09-01",
                                           "--to", "2026-09-02", "--state", state_url, "--lock-timeout", "1s"],
                                    catch_exceptions=False)
    assert result.exit_code == 2
    assert "error[SR757]: another snapshot of spec 'flipper' is running since 20" in result.output
    assert waited.exit_code == 2 and "waited 1s" in waited.output and "error[SR757]" in waited.output
    # another spec's lock is another lock; and once released, the snapshot runs
    with snapshot_lock(state_url, "some_other_spec"):
        result = CliRunner().invoke(main, ["run", str(spec), "--db", str(data), "--snapshot", "--state",
                                           state_url], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_history_busy_lock_names_the_holder_process(project, state_url):
    """The SR757 message names the process that holds the lock (its pid and host), also on PostgreSQL."""
    import socket
    spec, data = project
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom segrules.state.lock import snapshot_lock\n"
                               "with snapshot_lock(sys.argv[1], 'flipper'):\n    print('held', flush=True)\n"
                               "    time.sleep(120)", state_url], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = CliRunner().invoke(main, ["run", str(spec), "--db", str(data), "--snapshot", "--state", state_url],
                                    catch_exceptions=False)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2
    assert f"(pid {holder.pid} on {socket.gethostname()})" in result.output, result.output
