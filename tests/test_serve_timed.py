"""Time-driven changes (segrules serve, step 4): each entity's next change time derived from its
rows and rules, so a member leaves when its rows age out of a window with no event at all,
at the microsecond the batch run changes."""

from __future__ import annotations

from datetime import timedelta

import pytest

import segrules
from segrules.demo import DEMO_NOW
from segrules.serve.service import Service
from serve_helpers import Clock, batch_members, load, service_members, shop_copy, write_shop

RT_SPEC = """
version: 1
name: rt
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
segments:
  frequent: {where: count(orders within 30d) > 2}
  recent_signup: {where: signup_at >= now - 7d}
"""
US = timedelta(microseconds=1)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_shop(tmp_path_factory.mktemp("serve_timed"), customers=50)


def test_serve_timed_member_leaves_when_its_third_latest_order_turns_30_days_old(template, tmp_path):
    con = segrules.connect(str(shop_copy(template, tmp_path)))
    spec, clock = segrules.load_text(RT_SPEC), Clock()
    service = Service(spec, con, clock=clock, sweep_every=None)
    times = [DEMO_NOW - timedelta(days=d) for d in (20, 10, 1)]
    service.ingest("orders", [{"order_id": 600000 + i, "customer_id": 5000, "ordered_at": t.isoformat(),
                               "amount": 1, "status": "paid"} for i, t in enumerate(times)])
    service.ingest("customers", [{"customer_id": 5000, "signup_at": (DEMO_NOW - timedelta(days=2)).isoformat()}])
    entered = service.step()
    assert {(c.segment, c.kind) for c in entered if c.key == "5000"} == {("frequent", "enter"),
                                                                          ("recent_signup", "enter")}
    # the next change: the sign-up turns 7 days old (DEMO_NOW + 5d), then the oldest order 30 days
    due = service.store.table("due").to_pyarrow().to_pylist()
    assert [r["due_at"] for r in due if r["customer_id"] == 5000] == [DEMO_NOW + timedelta(days=5)]
    clock.now = DEMO_NOW + timedelta(days=5)
    assert service.step() == []  # `>=`: still a member at the instant itself
    clock.now += US
    assert [(c.key, c.segment, c.kind) for c in service.step()] == [("5000", "recent_signup", "exit")]
    exit_at = times[0] + timedelta(days=30)
    clock.now = exit_at - US
    assert service.step() == [] and service.member(5000)["segments"] == ["frequent"]
    clock.now = exit_at
    changes = service.step()
    assert [(c.key, c.segment, c.kind, c.at) for c in changes] == [("5000", "frequent", "exit", exit_at)]
    assert batch_members(spec, con, exit_at)["frequent"] == service_members(service)["frequent"]


def test_serve_timed_lifecycle_equals_batch_runs_as_time_passes_without_events(template, tmp_path):
    """Every lifecycle stage is timed (windows and `signup_at >= now - 30d`): with no sweep at all,
    membership follows the batch run over 400 days, changes at the derived instants only."""
    con = segrules.connect(str(shop_copy(template, tmp_path)))
    spec, clock = load("lifecycle"), Clock()
    service = Service(spec, con, clock=clock, sweep_every=None)
    previous = batch_members(spec, con, clock.now)
    for days in (1, 29.5, 31, 91, 120, 366, 400):
        clock.now = DEMO_NOW + timedelta(days=days)
        changes = service.step()
        members = batch_members(spec, con, clock.now)
        assert service_members(service) == members, days
        assert {(c.key, c.segment, c.kind) for c in changes} == \
            {(str(k), s, "enter") for s in members for k in members[s] - previous[s]} | \
            {(str(k), s, "exit") for s in members for k in previous[s] - members[s]}
        previous = members
    assert service.metrics.evaluations._value.get() > 5


def test_serve_timed_swept_rules_wait_for_the_sweep(template, tmp_path):
    """`lapsed` reads days_since(...): not derivable, so it changes at the next sweep."""
    con = segrules.connect(str(shop_copy(template, tmp_path)))
    spec, clock = load("ecommerce"), Clock()
    service = Service(spec, con, clock=clock, sweep_every=None)
    orders = con.table("orders")
    last = orders.group_by("customer_id").aggregate(t=orders.ordered_at.max()).to_pyarrow().to_pylist()
    t = min(r["t"] for r in last if r["t"] > DEMO_NOW - timedelta(days=80))
    # at t + 90.5d its 90-day window empties (a derived instant): evaluated, not yet lapsed (91
    # whole days); at t + 91.5d it is lapsed, an instant no row of it gives
    clock.now = t + timedelta(days=90.5)
    service.step()
    clock.now = t + timedelta(days=91.5)
    service.step()
    members, stored = batch_members(spec, con, clock.now), service_members(service)
    assert members["lapsed"] != stored["lapsed"]  # some customers turned 90 days quiet meanwhile
    assert members["big_spenders"] == stored["big_spenders"]  # timed: current
    service.sweep_every = 0.0  # the worker's next step sweeps
    assert {c.segment for c in service.step()} >= {"lapsed"}
    assert service_members(service) == batch_members(spec, con, clock.now)
