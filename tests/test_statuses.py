"""Statuses are closed sets (``segrules/statuses.py``): the values the state stores and JSON hold
are unchanged, every status a sync run ends in is a member, and no module writes a bare string
status."""

from __future__ import annotations

import ast
import types
from pathlib import Path

import pytest
from pydantic import BaseModel

import segrules
from segrules.errors import SinkError
from segrules.plugin import BatchResult, DestinationDef, Limits, hookimpl
from segrules.state import open_state
from segrules.statuses import RowStatus, SegmentStatus, SyncStatus
from segrules.sync import SyncRun, SyncState, plan_syncs

from sync_helpers import people_db, spec_text

ROOT = Path(__file__).resolve().parent.parent
PEOPLE = {1: ("ann@x.com", "Ann", 60), 2: ("bo@x.com", "Bo", 70), 3: ("not an email", "Cy", 80)}


def test_statuses_values_are_the_stored_strings():
    assert {s.name: s.value for s in SyncStatus} == {
        "PENDING": "pending", "RUNNING": "running", "OK": "ok", "PARTIAL": "partial", "FAILED": "failed",
        "REFUSED": "refused", "DRY_RUN": "dry-run", "INTERRUPTED": "interrupted"}
    assert {s.value for s in RowStatus} == {"ok", "rejected"}
    assert {s.value for s in SegmentStatus} == {"new", "removed", "changed", "unchanged"}
    assert SyncStatus.final() == set(SyncStatus) - {SyncStatus.PENDING, SyncStatus.RUNNING}
    assert SyncStatus.OK == "ok" and f"{SyncStatus.DRY_RUN}" == "dry-run"


class FakeOptions(BaseModel):
    behaviour: str


class FakeClient:
    limits = Limits(max_rows=100)

    def __init__(self, behaviour: str):
        self.behaviour = behaviour

    def send(self, op, rows):
        if self.behaviour == "sink_error":
            raise SinkError("the vendor is down", code="SR821")
        if self.behaviour == "crash":
            raise RuntimeError("a bug in the destination")
        return BatchResult.all_ok(rows)

    def close(self):
        pass


def _registry():
    module = types.ModuleType("fake_destination")
    module.register_destinations = hookimpl(lambda: [DestinationDef(
        "fake", FakeOptions, lambda options, ctx: FakeClient(options.behaviour))])
    return segrules.default_registry(plugins=[module], load_entrypoints=False)


def _run(con, state, behaviour: str, extra: str = "", deliver: bool = True):
    text = spec_text(f"fake: {{type: fake, behaviour: {behaviour}}}",
                     f"s:\n  segment: active\n  destination: fake\n  identify_by: email\n{extra}")
    spec = segrules.load_text(text, "spec.yaml", registry=_registry())
    planned = plan_syncs(spec.document, list(spec.check(con).schemas["people"].names), spec.registry.destinations,
                         None, env={})
    run = SyncRun(spec, con, open_state(state), planned, as_of="2026-11-01")
    (outcome,) = run.plan()
    if deliver and outcome.status is not SyncStatus.REFUSED:
        run.deliver([outcome])
    return outcome


def test_statuses_every_status_a_run_ends_in_is_a_member(tmp_path):
    state = tmp_path / "state.duckdb"
    ended = []
    with people_db(PEOPLE) as con:
        ended.append(_run(con, state, "ok").status)  # ann and bo sent, "not an email" rejected: partial
        con.raw_sql("update people set email = 'cy@x.com' where id = 3")
        ended.append(_run(con, state, "ok").status)  # cy sent: ok
        con.raw_sql("insert into people values (4, 'di@x.com', 'Di', 90)")
        ended.append(_run(con, state, "sink_error").status)  # di not acknowledged: failed
        ended.append(_run(con, state, "crash").status)  # di again, the destination crashes: failed
        con.raw_sql("update people set score = 0")
        ended.append(_run(con, state, "ok", "  max_removals: 1").status)
        log = SyncState(open_state(state))
        log.log_run("killed", "s", "fake", "mirror", log.runs()["started_at"][0].as_py(), SyncStatus.RUNNING)
        ended.append(_run(con, state, "ok", "  max_removals: 10").status)
        logged = log.runs(limit=None)["status"].to_pylist()
    assert all(isinstance(s, SyncStatus) for s in ended)
    assert ended == ["partial", "ok", "failed", "failed", "refused", "ok"]
    assert {SyncStatus(s) for s in logged} == {SyncStatus.PARTIAL, SyncStatus.OK, SyncStatus.FAILED,
                                               SyncStatus.INTERRUPTED}
    assert set(ended) | {SyncStatus(s) for s in logged} | {SyncStatus.DRY_RUN} == SyncStatus.final()
    rows = log.store.table("sync_changes").status.to_pyarrow().to_pylist()
    assert {RowStatus(s) for s in rows} == set(RowStatus)


STATUS_MODULES = sorted((ROOT / "segrules" / "sync").glob("*.py")) + sorted((ROOT / "segrules" / "history").glob("*.py"))


def bare_string_statuses(source: str) -> list[int]:
    """Lines that set a status to a string literal: ``x.status = "ok"``, ``status="ok"``,
    ``{"status": "ok"}``, ``x.status == "ok"``, ``t.status == "ok"`` in an Ibis filter."""
    found = []
    for node in ast.walk(ast.parse(source)):
        pairs = []
        if isinstance(node, ast.Assign):
            pairs = [(t, node.value) for t in node.targets]
        elif isinstance(node, ast.Compare):
            pairs = [(node.left, c) for c in node.comparators]
        elif isinstance(node, ast.Dict):
            # a schema's {"status": "string"} is the column's type, not a status
            pairs = [(k, v) for k, v in zip(node.keys, node.values)
                     if k is not None and not (isinstance(v, ast.Constant) and v.value == "string")]
        elif isinstance(node, ast.keyword) and node.arg == "status":
            pairs = [(ast.Name("status"), node.value)]
        for target, value in pairs:
            name = target.attr if isinstance(target, ast.Attribute) else target.id if isinstance(target, ast.Name) \
                else target.value if isinstance(target, ast.Constant) else None
            if name == "status" and isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.append(value.lineno)
    return sorted(found)


@pytest.mark.parametrize("path", STATUS_MODULES, ids=lambda p: p.name)
def test_statuses_no_bare_string_status(path):
    assert bare_string_statuses(path.read_text(encoding="utf-8")) == []


def test_statuses_bare_string_rule_catches_each_form():
    assert bare_string_statuses('o.status = "ok"\nf(status="x")\nd = {"status": "ok"}\nif o.status == "failed": pass'
                                ) == [1, 2, 3, 4]
    assert bare_string_statuses("o.status = SyncStatus.OK\nd = {'status': RowStatus.OK}") == []
