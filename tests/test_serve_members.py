"""Lookups and counts from memory (segrules serve, :mod:`segrules.serve.members`): a lookup
answered while an evaluation runs gives the last committed state whole (not the evaluation's
half-written rows) and equals the stored ``members`` row; after the commit, the new state; a
failed evaluation leaves what lookups answer as it was; over HTTP, the same JSON as the stored
row gives."""

from __future__ import annotations

import json
import threading
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

import segrules
from segrules.demo import DEMO_NOW
from segrules.serve.app import create_app
from segrules.serve.service import Service
from serve_helpers import (TOKEN, Clock, assert_view_is_the_table, batch_members, load, shop_copy, stored_member,
                           write_shop)

AUTH = {"Authorization": f"Bearer {TOKEN}"}
LATER = DEMO_NOW.replace(hour=6)
ORDERS = [{"order_id": 880001 + i, "customer_id": k, "ordered_at": "2026-09-30T08:00:00", "amount": "900.00",
           "status": "paid"} for i, k in enumerate((3, 5, 8))]
KEYS = [3, 5, 8, 9001]
NEW_CUSTOMER = [{"customer_id": 9001, "email": "neu@gmail.com", "country": "DE", "signup_at": "2026-09-28T00:00:00"}]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_shop(tmp_path_factory.mktemp("serve_members"), customers=50)


@pytest.fixture
def service(template, tmp_path):
    con = segrules.connect(str(shop_copy(template, tmp_path)))
    yield Service(load("ecommerce"), con, clock=Clock(), sweep_every=None)
    con.disconnect()


def paused(service, where: str):
    """Make the next evaluation stop inside its transaction when it writes table ``where`` (after
    its ``members`` rows for ``changes``), until the returned event is set; ``inside`` is set
    when it got there."""
    inside, go, original = threading.Event(), threading.Event(), service.store.insert

    def insert(table, rows):
        if table == where:
            inside.set()
            assert go.wait(30)
        original(table, rows)

    service.store.insert = insert
    return inside, go


def test_serve_members_lookup_during_an_evaluation_is_the_last_committed_state(service):
    before = {k: service.member(k) for k in KEYS}
    assert before[9001] is None and before[3]["as_of"] == DEMO_NOW.isoformat()
    counts = {s: len(m) for s, m in batch_members(service.spec, service.con, DEMO_NOW).items()}
    service.ingest("orders", ORDERS)
    service.ingest("customers", NEW_CUSTOMER)
    service.clock.now = LATER
    inside, go = paused(service, "changes")
    evaluation = threading.Thread(target=service.evaluate)
    evaluation.start()
    try:
        assert inside.wait(30)  # new members rows written, not committed
        reader = service.con.con.cursor()  # a second connection: what is committed
        with TestClient(create_app(service, TOKEN)) as client:
            for k in KEYS:
                assert service.member(k) == before[k] == stored_member(service, k, reader)
                answer = client.get(f"/v1/members/{k}", headers=AUTH)
                assert answer.status_code == (404 if before[k] is None else 200)
                if before[k] is not None:
                    assert answer.json() == json.loads(json.dumps(before[k], default=str))
            for s, n in counts.items():
                assert client.get(f"/v1/segments/{s}/count", headers=AUTH).json()["members"] == n, s
    finally:
        go.set()
        evaluation.join(60)
    after = {k: service.member(k) for k in KEYS}
    assert all(a is not None and a["as_of"] == LATER.isoformat() for a in after.values())
    assert all("big_spenders" in after[k]["segments"] and after[k] != before[k] for k in (3, 5, 8))
    expected = batch_members(service.spec, service.con, LATER)
    assert {s: {k for k in KEYS if s in after[k]["segments"]} for s in expected} == \
           {s: members & set(KEYS) for s, members in expected.items()}
    assert_view_is_the_table(service, KEYS)


@pytest.mark.parametrize("failure", ["statement", "commit"])
def test_serve_members_failed_evaluation_leaves_the_lookups_as_they_were(service, failure):
    """A statement of the evaluation fails (after its members rows), or its transaction fails at
    the end: rolled back, and lookups answer what they answered before."""
    before = service.view.rows()
    service.ingest("orders", ORDERS)
    insert, transaction = service.store.insert, service.store.transaction

    def crash(table, rows):
        if table == "changes":
            raise RuntimeError("killed")
        insert(table, rows)

    @contextmanager
    def fails_at_the_end():
        with transaction():
            yield
            raise RuntimeError("commit failed")

    if failure == "statement":
        service.store.insert = crash
    else:
        service.store.transaction = fails_at_the_end
    with pytest.raises(RuntimeError):
        service.evaluate()
    service.store.insert, service.store.transaction = insert, transaction
    assert service.view.rows() == before
    assert_view_is_the_table(service, KEYS)
    service.evaluate()  # redone
    assert all("big_spenders" in service.member(k)["segments"] for k in (3, 5, 8))
    assert_view_is_the_table(service, KEYS)


def test_serve_members_http_answer_is_the_stored_row(service):
    """Every key over HTTP (a feature of each type the spec has: decimals, integers, times) gives
    what the stored row gives, JSON-encoded as before (non-JSON values as their str)."""
    service.ingest("orders", ORDERS)
    service.evaluate()
    keys = service.con.table("customers").customer_id.to_pyarrow().to_pylist()
    with TestClient(create_app(service, TOKEN)) as client:
        for k in keys:
            answer = client.get(f"/v1/members/{k}", headers=AUTH)
            assert answer.json() == json.loads(json.dumps(stored_member(service, k), default=str)), k
        expected = batch_members(service.spec, service.con, DEMO_NOW)
        for s, members in expected.items():
            assert client.get(f"/v1/segments/{s}/count", headers=AUTH).json() == {"segment": s, "members": len(members)}
