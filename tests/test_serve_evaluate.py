"""Incremental evaluation (segrules serve, step 2): the compiled plan run for the touched keys
only, the membership kept in the database equal to a batch run, enter/exit changes with
deterministic ids, one transaction per evaluation (a failed one leaves nothing and is redone
with the same ids), restart from the durable state."""

from __future__ import annotations

from datetime import timedelta

import pytest

import segrules
from segrules.demo import DEMO_NOW
from segrules.serve.rules import RuleKind, classify
from segrules.serve.service import Service
from serve_helpers import Clock, batch_members, load, service_members, shop_copy, write_shop


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_shop(tmp_path_factory.mktemp("serve_eval"), customers=60)


@pytest.fixture(scope="module")
def ecommerce():
    return load("ecommerce")


def open_service(path, spec, **kwargs):
    con = segrules.connect(str(path))
    return Service(spec, con, clock=kwargs.pop("clock", Clock()), sweep_every=None, **kwargs)


BATCHES = [
    ("orders", [{"order_id": 700001, "customer_id": 4, "ordered_at": "2026-09-29T09:00:00", "amount": "800.00",
                 "status": "paid"},
                {"order_id": 700002, "customer_id": 9, "ordered_at": "2025-01-02T09:00:00", "amount": "5.00",
                 "status": "paid"}]),  # a late row: a year and more in the past
    ("events", [{"event_id": 700003 + i, "customer_id": 7, "ts": f"2026-09-2{i}T12:00:00", "name": "product_view"}
                for i in range(6)]),
    ("customers", [{"customer_id": 9001, "email": "neu@gmail.com", "country": "DE",
                    "signup_at": "2026-09-28T00:00:00"}]),
]


def diff(before: dict[str, set], after: dict[str, set]) -> set:
    return {(str(k), s, "enter") for s in after for k in after[s] - before[s]} | \
           {(str(k), s, "exit") for s in after for k in before[s] - after[s]}


def test_serve_evaluate_membership_and_changes_equal_batch_runs(template, tmp_path, ecommerce):
    service = open_service(shop_copy(template, tmp_path), ecommerce)
    previous = batch_members(ecommerce, service.con, DEMO_NOW)
    assert service_members(service) == previous
    for source, rows in BATCHES:
        service.ingest(source, rows)
        changes = service.evaluate()
        now_members = batch_members(ecommerce, service.con, DEMO_NOW)
        assert service_members(service) == now_members
        assert {(c.key, c.segment, c.kind) for c in changes} == diff(previous, now_members)
        previous = now_members
    assert {"champions", "big_spenders"} <= set(service.member(4)["segments"])
    assert "eu_gmail" in service.member(9001)["segments"]


def test_serve_evaluate_reads_only_the_touched_keys(template, tmp_path, ecommerce):
    service = open_service(shop_copy(template, tmp_path), ecommerce)
    evaluated = []
    run = service.evaluator._run
    service.evaluator._run = lambda plan: evaluated.append((plan, (t := run(plan)).num_rows)) or t
    service.ingest(*BATCHES[0])
    service.evaluate()
    rows = dict(evaluated)
    assert rows["local"] == 2  # customers 4 and 9 of 60
    assert rows["global"] == 60  # rfm.* compares every customer with the others


def test_serve_evaluate_failed_evaluation_leaves_nothing_and_is_redone_with_the_same_ids(template, tmp_path,
                                                                                      ecommerce):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    first = open_service(shop_copy(template, tmp_path / "a"), ecommerce)
    first.ingest(*BATCHES[0])
    expected = [c.change_id for c in first.evaluate()]
    assert expected
    second = open_service(shop_copy(template, tmp_path / "b"), ecommerce)
    second.ingest(*BATCHES[0])
    store, original = second.store, second.store.insert

    def crash(table, rows):
        if table == "changes":
            raise RuntimeError("killed")
        original(table, rows)

    store.insert = crash
    with pytest.raises(RuntimeError):
        second.evaluate()
    store.insert = original
    assert second.store.table("pending").count().to_pyarrow().as_py() == 2  # still pending
    assert second.changes(after=second.latest_seq) == []
    assert [c.change_id for c in second.evaluate()] == expected


def test_serve_evaluate_restart_resumes_pending_keys(template, tmp_path, ecommerce):
    path = shop_copy(template, tmp_path)
    service = open_service(path, ecommerce)
    seq = service.latest_seq
    service.ingest(*BATCHES[0])
    service.con.disconnect()  # stopped after the ingest was acknowledged, before evaluating
    again = open_service(path, ecommerce)
    assert again.pending == 2 and again.latest_seq == seq
    changes = again.evaluate()
    assert changes and changes[0].seq == seq + 1
    assert service_members(again) == batch_members(ecommerce, again.con, DEMO_NOW)


def test_serve_evaluate_refuses_tables_of_another_spec_version(template, tmp_path, ecommerce):
    path = shop_copy(template, tmp_path)
    open_service(path, ecommerce).con.disconnect()
    with pytest.raises(segrules.errors.BackendError) as caught:
        open_service(path, ecommerce, params={"vip_threshold": "100"})
    assert caught.value.diagnostics[0].code == "SR903"
    assert open_service(path, ecommerce, params={"vip_threshold": "100"}, reset=True).latest_seq > 0


def test_serve_rules_kinds_of_the_shop_and_lifecycle_specs(template, ecommerce):
    con = segrules.connect(str(template), read_only=True)
    kinds = classify(ecommerce.check(con), ecommerce.params())
    of = {name: kind for (_, name), kind in kinds.of.items()}
    assert {n for n, k in of.items() if k is RuleKind.GLOBAL} == {"champions", "win_back", "high_value_recent"}
    assert {n for n, k in of.items() if k is RuleKind.SWEPT} == {"lapsed"}  # days_since(last_order_at)
    assert kinds.time_rules.windows == {"orders": {0.0, 90 * 86400.0}, "events": {0.0, 7 * 86400.0, 30 * 86400.0}}
    assert kinds.time_rules.shifts == {("signup_at", 30 * 86400.0)}  # signup_at >= now - 30d
    lifecycle = load("lifecycle")
    of = {n: k for (_, n), k in classify(lifecycle.check(con), {}).of.items()}
    assert set(of.values()) == {RuleKind.TIMED}
