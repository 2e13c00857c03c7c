"""History snapshots of segrules serve (``--snapshot``) consistent with its change stream: each
snapshot equals the membership after the changes up to the evaluation it was taken from (and the
batch run at that instant), and its enter/exit events are the net of the changes since the
previous snapshot; a spec with stability controls is refused (SR907, at the key)."""

from __future__ import annotations

from datetime import timedelta

import pytest

import segrules
from segrules.demo import DEMO_NOW
from segrules.history.session import history
from segrules.serve.history import HistorySnapshots
from segrules.serve.service import Service
from serve_helpers import Clock, batch_members, load, shop_copy, write_shop


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_shop(tmp_path_factory.mktemp("serve_history"), customers=40)


def replay(changes, upto: int, start=None) -> dict[tuple[str, str], bool]:
    """(segment, key) -> member, from applying the changes with seq <= upto."""
    state = dict(start or {})
    for c in changes:
        if c.seq <= upto:
            state[(c.segment, c.key)] = c.kind == "enter"
    return state


def members_of(state) -> set[tuple[str, str]]:
    return {sk for sk, member in state.items() if member}


def latest(state_url, spec_name):
    with history(state_url) as store:
        run = store.resolve(spec_name)
        members = {(r["segment"], r["key"]) for r in store.members(run.run_id).to_pyarrow().to_pylist()}
        events = {(r["segment"], r["key"], r["event"])
                  for r in store.events(spec_name, run_id=run.run_id).to_pyarrow().to_pylist()}
    return run, members, events


def test_serve_history_snapshots_equal_the_change_stream(template, tmp_path):
    state_url = str(tmp_path / "state.duckdb")
    clock = Clock()
    service = Service(load("lifecycle"), segrules.connect(str(shop_copy(template, tmp_path))), clock=clock,
                      sweep_every=None)
    outlet = HistorySnapshots(service, state=state_url)
    assert outlet.drain() == service.latest_seq > 0
    seen = check_latest(service, outlet, state_url, {}, 1)
    for step in range(3):
        # two evaluations between snapshots (rows, then time-driven changes), one snapshot of both
        service.ingest("orders", [{"order_id": 440000 + 10 * step + i, "customer_id": 1 + i + 5 * step,
                                   "ordered_at": clock.now.isoformat(), "amount": "50.00", "status": "paid"}
                                  for i in range(3)])
        service.evaluate()
        clock.now += timedelta(days=45)
        service.evaluate(sweep=True)
        assert outlet.drain() > 0
        seen = check_latest(service, outlet, state_url, seen, step + 2)
    assert service.latest_seq == int(service.store.meta()["history"])
    assert outlet.drain() == 0 and len(outlet.stored) == 4  # nothing new: no snapshot


def check_latest(service, outlet, state_url, seen, snapshots):
    """The latest snapshot = the change stream applied up to the history cursor = the batch run;
    its events = the net difference from the previous one (``seen``). Returns its state."""
    changes = service.changes(0, limit=10**6)
    cursor = int(service.store.meta()["history"])
    run, members, events = latest(state_url, "lifecycle")
    assert len(outlet.stored) == snapshots and run.as_of == segrules.api.parse_as_of(service.store.meta()["now"])
    after = replay(changes, cursor)
    assert members == members_of(after)
    before = members_of(seen)
    assert events == {(s, k, "entered") for s, k in members_of(after) - before} | \
                     {(s, k, "exited") for s, k in before - members_of(after)}
    assert events  # each step changed something
    batch = batch_members(service.spec, service.con, run.as_of)
    assert members == {(s, str(k)) for s, keys in batch.items() for k in keys}
    return after


STABLE = """
version: 1
name: steady
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
segments:
  buyers:
    where: count(orders within 30d) > 0
    min_days_in: 7
"""


def test_serve_history_refuses_stability_controls_sr907(template, tmp_path):
    spec = segrules.load_text(STABLE)
    service = Service(spec, segrules.connect(str(shop_copy(template, tmp_path))), clock=Clock(), sweep_every=None)
    with pytest.raises(segrules.SpecError) as caught:
        HistorySnapshots(service, state=str(tmp_path / "state.duckdb"))
    d = caught.value.diagnostics[0]
    assert d.code == "SR907" and "min_days_in" in d.message and (d.span.line, d.span.column) == (10, 5)
