"""Membership history: snapshots in the state store (atomic), enter/exit events, stability
controls, ``plan`` against a snapshot, and ``backfill`` over 90 days of the demo shop."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules.demo import write_demo_data
from segrules.history import HistoryStore
from segrules.history.snapshots import evaluate_matches, snapshot

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "segment_specs" / "ecommerce.yaml"
NOW = datetime(2026, 10, 1)


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "shop.duckdb"
    write_demo_data(path, customers=300, seed=5, now=NOW)
    return path


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def members_of(spec, con, as_of) -> set[tuple[str, str]]:
    wide = spec.evaluate(con, as_of=as_of, features=[]).to_pyarrow().to_pylist()
    return {(s, str(row[spec.key])) for row in wide for s in spec.segments if row[s]}


def stored(store: HistoryStore, run_id: str) -> set[tuple[str, str]]:
    return {(r["segment"], r["key"]) for r in store.members(run_id).to_pyarrow().to_pylist()}


# --- snapshots and events ----------------------------------------------------------------------------
def test_history_snapshot_stores_membership_and_run_metadata(shop, tmp_path):
    state = tmp_path / "state.duckdb"
    result = cli("run", SPEC, "--db", shop, "--as-of", "2026-09-20", "--snapshot", "--state", state)
    assert result.exit_code == 0, result.output
    assert "snapshot " in result.output and f"stored in {state}" in result.output
    spec = segrules.load(SPEC)
    store = HistoryStore.open(state)
    (run,) = store.runs("shop")
    assert run.as_of == datetime(2026, 9, 20) and run.universe == 300 and run.timezone == "UTC"
    assert len(run.spec_hash) == 16 and run.seq == 1
    con = segrules.connect(str(shop), read_only=True)
    expected = members_of(spec, con, "2026-09-20")
    assert stored(store, run.run_id) == expected and expected
    counts = {r["segment"]: r for r in store.counts(run.run_id).to_pyarrow().to_pylist()}
    assert sorted(counts) == sorted(spec.segments)
    for segment, row in counts.items():
        n = sum(1 for s, _ in expected if s == segment)
        assert row["members"] == row["matched"] == row["entered"] == n and row["exited"] == 0


def test_history_changes_are_the_differences_between_snapshots(shop, tmp_path):
    state = tmp_path / "state.duckdb"
    spec = segrules.load(SPEC)
    con = segrules.connect(str(shop), read_only=True)
    store = HistoryStore.open(state)
    runs = []
    for day in ("2026-09-01", "2026-09-08", "2026-09-15"):
        matches, universe, now = evaluate_matches(spec, con, day)
        runs.append(snapshot(store, spec, matches, universe, now))
    before, after = members_of(spec, con, "2026-09-08"), members_of(spec, con, "2026-09-15")
    events = store.events("shop", run_id=runs[-1].run_id).to_pyarrow().to_pylist()
    assert {(e["segment"], e["key"]) for e in events if e["event"] == "entered"} == after - before
    assert {(e["segment"], e["key"]) for e in events if e["event"] == "exited"} == before - after
    assert all(e["at"] == datetime(2026, 9, 15) and e["run_id"] == runs[-1].run_id for e in events)
    # the CLI: latest by default, --since for everything after a run, Parquet out
    out = tmp_path / "events.parquet"
    result = cli("changes", SPEC, "--state", state, "--since", runs[0].run_id[:6], "--out", out, "--limit", 3)
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.column_names == ["key", "segment", "event", "run_id", "at"]
    assert set(table["run_id"].to_pylist()) == {runs[1].run_id, runs[2].run_id}
    assert f"wrote {table.num_rows:,} events to {out}" in result.output
    latest = cli("changes", SPEC, "--state", state, "--table", "shop_events")
    assert latest.exit_code == 0 and f"{len(events)} event" in latest.output
    assert HistoryStore.open(state).table("shop_events").count().to_pyarrow().as_py() == len(events)


def test_history_unknown_runs_and_empty_history_are_clear_errors(shop, tmp_path):
    state = tmp_path / "state.duckdb"
    result = cli("changes", SPEC, "--state", state)
    assert result.exit_code == 2 and "error[SR750]: no snapshots of spec 'shop'" in result.output
    cli("run", SPEC, "--db", shop, "--as-of", "2026-09-20", "--snapshot", "--state", state)
    result = cli("plan", SPEC, "--db", shop, "--state", state, "--against", "zzz")
    assert result.exit_code == 2 and "error[SR751]: no run of spec 'shop' matches 'zzz'" in result.output


# --- atomicity -----------------------------------------------------------------------------------------
KILLER = """
import os, signal, sys
import segrules
from segrules.history import HistoryStore
from segrules.history import store as store_module
from segrules.history.snapshots import evaluate_matches, snapshot

written = []
original = store_module.HistoryStore.insert

def insert(self, name, data):
    original(self, name, data)
    written.append(name)
    if name == sys.argv[4]:
        os.kill(os.getpid(), signal.SIGKILL)  # killed half-way: some tables written, no run row

store_module.HistoryStore.insert = insert
spec = segrules.load(sys.argv[1])
con = segrules.connect(sys.argv[2], read_only=True)
matches, universe, now = evaluate_matches(spec, con, "2026-09-25")
snapshot(HistoryStore.open(sys.argv[3]), spec, matches, universe, now)
"""


@pytest.mark.parametrize("kill_after", ["history_members", "history_events", "history_counts"])
def test_history_killed_snapshot_leaves_the_previous_one_intact(shop, tmp_path, kill_after):
    state = tmp_path / "state.duckdb"
    assert cli("run", SPEC, "--db", shop, "--as-of", "2026-09-20", "--snapshot", "--state", state).exit_code == 0
    store = HistoryStore.open(state)
    (first,) = store.runs("shop")
    before = stored(store, first.run_id)
    store.con.disconnect()
    proc = subprocess.run([sys.executable, "-c", KILLER, str(SPEC), str(shop), str(state), kill_after],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr  # SIGKILL
    store = HistoryStore.open(state)
    assert [r.run_id for r in store.runs("shop")] == [first.run_id]  # the half-written run is not there
    assert store.resolve("shop", "latest") == first
    assert stored(store, first.run_id) == before
    assert store.events("shop").count().to_pyarrow().as_py() == len(before)  # only the first run's entries
    # the next snapshot follows the intact one
    assert cli("run", SPEC, "--db", shop, "--as-of", "2026-09-25", "--snapshot", "--state", state).exit_code == 0
    spec = segrules.load(SPEC)
    con = segrules.connect(str(shop), read_only=True)
    store = HistoryStore.open(state)
    latest = store.resolve("shop")
    assert latest.run_id != first.run_id and latest.seq == 2
    events = store.events("shop", run_id=latest.run_id).to_pyarrow().to_pylist()
    now = members_of(spec, con, "2026-09-25")
    assert {(e["segment"], e["key"]) for e in events if e["event"] == "entered"} == now - before


def test_history_failed_write_keeps_the_previous_snapshot(shop, tmp_path, monkeypatch):
    state = tmp_path / "state.duckdb"
    cli("run", SPEC, "--db", shop, "--as-of", "2026-09-20", "--snapshot", "--state", state)
    from segrules.history import store as store_module
    original = store_module.HistoryStore.insert

    def failing(self, name, data):
        if name == "history_counts":
            raise RuntimeError("disk full")
        original(self, name, data)
    monkeypatch.setattr(store_module.HistoryStore, "insert", failing)
    result = cli("run", SPEC, "--db", shop, "--as-of", "2026-09-25", "--snapshot", "--state", state)
    assert result.exit_code == 2
    assert "error[SR755]: writing the snapshot failed (the previous one is intact)" in result.output
    assert len(HistoryStore.open(state).runs("shop")) == 1


# --- stability controls ---------------------------------------------------------------------------------
STABLE = """\
version: 1
name: stable
entity: {table: users, key: id}
sources:
  visits: {table: visits, key: id, time: at}
segments:
  plain: {where: count(visits within 1d) > 0}
  sticky: {where: count(visits within 1d) > 0, min_days_in: 3}
  cooling: {where: count(visits within 1d) > 0, cooldown_days: 7}
"""


def reference_stability(matching_days: set[int], days: range, min_days_in: int = 0, cooldown: int = 0) -> set[int]:
    """Days on which the entity is a member, by the documented rules, in plain Python."""
    member, unmatched_since, last_exit, out = False, None, None, set()
    for d in days:
        matched = d in matching_days
        if matched:
            unmatched_since = None
            if not member and last_exit is not None and d - last_exit < cooldown:
                continue  # cooling down: not a member, no event
            member = True
        elif member:
            unmatched_since = d if unmatched_since is None else unmatched_since
            if d - unmatched_since >= min_days_in:
                member, last_exit = False, d
        if member:
            out.add(d)
    return out


def test_history_stability_controls_min_days_in_and_cooldown(tmp_path):
    db = tmp_path / "visits.duckdb"
    con = ibis.duckdb.connect(str(db))
    start = datetime(2026, 5, 1)
    visit_days = {0, 1, 2, 6, 10, 11, 20, 22, 30}  # days with a visit at noon
    con.create_table("users", pa.table({"id": [1]}))
    con.create_table("visits", pa.table({"id": [1] * len(visit_days),
                                         "at": [start + timedelta(days=d, hours=12) for d in sorted(visit_days)]}))
    con.disconnect()
    spec_path = tmp_path / "stable.yaml"
    spec_path.write_text(STABLE)
    state = tmp_path / "state.duckdb"
    result = cli("backfill", spec_path, "--db", db, "--from", "2026-05-01", "--to", "2026-06-10", "--state", state)
    assert result.exit_code == 0, result.output
    store = HistoryStore.open(state)
    runs = store.runs("stable")
    assert len(runs) == 41
    matching = {d + 1 for d in visit_days}  # a noon visit counts at the next midnight (within 1d)
    days = range(len(runs))
    expected = {"plain": reference_stability(matching, days),
                "sticky": reference_stability(matching, days, min_days_in=3),
                "cooling": reference_stability(matching, days, cooldown=7)}
    actual = {s: {d for d, run in enumerate(runs) if (s, "1") in stored(store, run.run_id)} for s in expected}
    assert actual == expected
    assert actual["sticky"] > actual["plain"] > actual["cooling"]  # the controls change something
    # the events agree: one enter per membership streak
    events = store.events("stable").to_pyarrow().to_pylist()
    for segment, member_days in expected.items():
        starts = {d for d in member_days if d - 1 not in member_days}
        assert {(runs.index(next(r for r in runs if r.run_id == e["run_id"])))
                for e in events if e["segment"] == segment and e["event"] == "entered"} == starts


# --- plan ------------------------------------------------------------------------------------------------
def test_history_plan_against_the_latest_snapshot(shop, tmp_path):
    state = tmp_path / "state.duckdb"
    cli("run", SPEC, "--db", shop, "--as-of", "2026-09-20", "--snapshot", "--state", state)
    changed = tmp_path / "ecommerce.yaml"
    changed.write_text(SPEC.read_text().replace("> $vip_threshold", "> 200")
                       .replace("  eu_gmail:\n", "  big_spenders_de:\n    where: segment('big_spenders') and country == 'DE'\n"
                                "  eu_gmail:\n", 1))
    spec_old, spec_new = segrules.load(SPEC), segrules.load(changed)
    con = segrules.connect(str(shop), read_only=True)
    old, new = members_of(spec_old, con, "2026-09-20"), members_of(spec_new, con, "2026-09-20")
    result = cli("plan", changed, "--db", shop, "--state", state, "--format", "json", "--samples", 3)
    assert result.exit_code == 0, result.output
    plan = {p["segment"]: p for p in json.loads(result.output)["segments"]}
    for segment in spec_new.segments:
        added = {k for s, k in new - old if s == segment}
        removed = {k for s, k in old - new if s == segment}
        p = plan[segment]
        assert (p["added"], p["removed"]) == (len(added), len(removed)), segment
        assert p["after"] == sum(1 for s, _ in new if s == segment)
        natural = lambda keys: sorted(keys, key=lambda k: (len(k), k))[:3]  # noqa: E731  2 before 10
        assert p["added_sample"] == natural(added) and p["removed_sample"] == natural(removed)
    assert plan["big_spenders"]["status"] == "changed" and plan["big_spenders"]["added"] > 0
    assert plan["big_spenders_de"]["status"] == "new" and plan["eu_gmail"]["status"] == "unchanged"
    # the blast-radius guard and the other formats
    guarded = cli("plan", changed, "--db", shop, "--state", state, "--max-change", "20%")
    assert guarded.exit_code == 1 and "change by more than 20%: big_spenders" in guarded.output
    assert "big_spenders ⚠" in guarded.output and "+" + str(plan["big_spenders"]["added"]) in guarded.output
    markdown = cli("plan", changed, "--db", shop, "--state", state, "--format", "markdown", "--max-change", "1000%")
    assert markdown.exit_code == 0
    assert "| segment | status | before | after | added | removed | unchanged | change | sample keys |" in markdown.output
    assert "| big_spenders_de | new |" in markdown.output
    bad = cli("plan", changed, "--db", shop, "--state", state, "--max-change", "lots")
    assert bad.exit_code == 2 and "SR754" in bad.output


def test_history_plan_reports_removed_segments(shop, tmp_path):
    state = tmp_path / "state.duckdb"
    cli("run", SPEC, "--db", shop, "--as-of", "2026-09-20", "--snapshot", "--state", state)
    changed = tmp_path / "ecommerce.yaml"
    text = SPEC.read_text()
    start = text.index("  eu_gmail:\n")
    end = text.index("\n", text.index("    where:", start)) + 1
    changed.write_text(text[:start] + text[end:])  # the spec without the segment eu_gmail
    result = cli("plan", changed, "--db", shop, "--state", state, "--format", "json", "--max-change", "50%")
    payload = json.loads(result.output)
    (gone,) = [p for p in payload["segments"] if p["segment"] == "eu_gmail"]
    assert gone["status"] == "removed" and gone["after"] == 0 and gone["removed"] == gone["before"] > 0
    assert result.exit_code == 1 and payload["over_limit"] == ["eu_gmail"]


# --- backfill ---------------------------------------------------------------------------------------------
def test_history_backfill_90_days_of_the_demo_shop(shop, tmp_path, monkeypatch):
    import segrules.compile.plan as plan_module  # backfill compiles through Spec.compile, which calls it
    compiled = []
    real = plan_module.compile_plan
    monkeypatch.setattr(plan_module, "compile_plan", lambda *a, **k: compiled.append(1) or real(*a, **k))
    state = tmp_path / "state.duckdb"
    result = cli("backfill", SPEC, "--db", shop, "--from", "2026-07-03", "--to", "2026-09-30", "--every", "1d",
                 "--state", state)
    assert result.exit_code == 0, result.output
    assert "stored 90 snapshots of shop from 2026-07-03 00:00:00 to 2026-09-30 00:00:00" in result.output
    assert compiled == [1]  # one plan for the 90 points in time
    store = HistoryStore.open(state)
    runs = store.runs("shop")
    assert [r.as_of for r in runs] == [datetime(2026, 7, 3) + timedelta(days=i) for i in range(90)]
    spec = segrules.load(SPEC)
    con = segrules.connect(str(shop), read_only=True)
    for i in (0, 1, 45, 89):  # point in time: each snapshot is the membership of its day
        assert stored(store, runs[i].run_id) == members_of(spec, con, runs[i].as_of)
    sizes = {r["run_id"]: r for r in store.table("history_counts").to_pyarrow().to_pylist() if r["segment"] == "lapsed"}
    assert len({sizes[r.run_id]["members"] for r in runs}) > 1  # a size-over-time series that moves
    events = store.events("shop").to_pyarrow()
    total = sum(len(stored(store, runs[0].run_id)) for _ in [0])
    assert events.num_rows >= total  # the first day's entries plus every later change
    again = cli("backfill", SPEC, "--db", shop, "--from", "2026-09-01", "--to", "2026-09-02", "--state", state)
    assert again.exit_code == 2 and "error[SR752]" in again.output


def test_history_backfill_rejects_bad_ranges(shop, tmp_path):
    for args, text in ((("--every", "0d"), "SR753"), (("--every", "soon"), "SR753")):
        result = cli("backfill", SPEC, "--db", shop, "--from", "2026-09-01", "--to", "2026-09-02", *args,
                     "--state", tmp_path / "s.duckdb")
        assert result.exit_code == 2 and text in result.output, result.output
    result = cli("backfill", SPEC, "--db", shop, "--from", "2026-09-02", "--to", "2026-09-01", "--state", tmp_path / "s.duckdb")
    assert result.exit_code == 2 and "is before --from" in result.output
    result = cli("backfill", SPEC, "--db", shop, "--from", "yesterday", "--to", "2026-09-01", "--state", tmp_path / "s.duckdb")
    assert result.exit_code == 2 and "error[SR753]: --from 'yesterday': not a date or timestamp" in result.output


def test_history_snapshot_needs_every_segment(shop, tmp_path):
    result = cli("run", SPEC, "--db", shop, "--segments", "lapsed", "--snapshot", "--state", tmp_path / "s.duckdb")
    assert result.exit_code == 2 and "error[SR756]" in result.output
    assert not (tmp_path / "s.duckdb").exists()


# --- a warehouse schema as the state store ------------------------------------------------------------------
@pytest.mark.skipif(not os.environ.get("SEGRULES_POSTGRES_URL"), reason="needs SEGRULES_POSTGRES_URL")
def test_history_in_a_postgres_schema(shop):
    url = os.environ["SEGRULES_POSTGRES_URL"] + "#segrules_history_test"
    pg = ibis.connect(os.environ["SEGRULES_POSTGRES_URL"])
    if "segrules_history_test" in pg.list_databases():
        for table in pg.list_tables(database="segrules_history_test"):
            pg.drop_table(table, database="segrules_history_test")
    for day in ("2026-09-01", "2026-09-08"):
        result = cli("run", SPEC, "--db", shop, "--as-of", day, "--snapshot", "--state", url)
        assert result.exit_code == 0, result.output
    store = HistoryStore.open(url)
    assert [r.as_of for r in store.runs("shop")] == [datetime(2026, 9, 1), datetime(2026, 9, 8)]
    spec = segrules.load(SPEC)
    con = segrules.connect(str(shop), read_only=True)
    before, after = members_of(spec, con, "2026-09-01"), members_of(spec, con, "2026-09-08")
    events = store.events("shop", run_id=store.resolve("shop").run_id).to_pyarrow().to_pylist()
    assert {(e["segment"], e["key"]) for e in events if e["event"] == "exited"} == before - after
    assert "history_runs" not in pg.list_tables()  # in its own schema


def test_history_snapshots_hold_the_output_segments_plugins_derive(shop, tmp_path):
    """A taxonomy with ``resolve: priority`` and ``else`` changes the output segments: snapshots and
    backfill store what ``run`` outputs (each customer in one stage, the rest in ``else``)."""
    text = (ROOT / "segment_specs" / "lifecycle.yaml").read_text()
    text = text.replace("    exclusive: true", "    resolve: priority\n    else: other\n    exclusive: false")
    spec_path = tmp_path / "lifecycle.yaml"
    spec_path.write_text(text)
    spec = segrules.load(spec_path)
    con = ibis.duckdb.connect(str(shop), read_only=True)
    matches, universe, _ = evaluate_matches(spec, con, NOW)
    assert set(matches["segment"].to_pylist()) <= set(spec.segments) and "other" in spec.segments
    assert {(r["segment"], r["key"]) for r in matches.to_pylist()} == members_of(spec, con, NOW)
    keys = matches["key"].to_pylist()
    assert len(keys) == len(set(keys)) == universe  # exactly one output segment per customer
    state = tmp_path / "state.duckdb"
    result = cli("backfill", spec_path, "--db", shop, "--from", "2026-09-29", "--to", "2026-10-01", "--state", state)
    assert result.exit_code == 0, result.output
