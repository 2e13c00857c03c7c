"""Entity rows updated and deleted by key (segrules serve): an upsert replaces the customer's row
and re-evaluates it, a delete removes it and emits its exits; both all or nothing, the entity table
only; the membership equals the batch run afterwards. (The hypothesis machine of
tests/test_serve_equivalence.py interleaves upserts and deletes with everything else.)"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

import segrules
from segrules.demo import DEMO_NOW
from segrules.serve.app import create_app
from segrules.serve.ingest import RowsRejected
from segrules.serve.service import Service
from serve_helpers import TOKEN, Clock, batch_members, load, service_members, shop_copy, write_shop

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_shop(tmp_path_factory.mktemp("serve_entities"), customers=40)


@pytest.fixture
def service(template, tmp_path):
    con = segrules.connect(str(shop_copy(template, tmp_path)))
    svc = Service(load("lifecycle"), con, clock=Clock(), sweep_every=None)
    yield svc
    con.disconnect()


def customer(service, key):
    t = service.con.table("customers")
    rows = t.filter(t.customer_id == key).to_pyarrow().to_pylist()
    return rows[0] if rows else None


def in_segment(service, segment):
    return sorted(service_members(service)[segment])


def test_serve_entities_upsert_replaces_the_row_and_reevaluates_it(service):
    key = in_segment(service, "active")[0]  # ordered in the last 90 days, signed up long ago
    row = {**customer(service, key), "signup_at": (DEMO_NOW - timedelta(days=2)).isoformat(), "plan": "pro"}
    row = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
    done = service.ingest("customers", [row], op="upsert")
    changes = service.evaluate()
    assert done.rows == 1
    assert {(c.key, c.segment, c.kind) for c in changes} == {(str(key), "active", "exit"),
                                                             (str(key), "new_customers", "enter")}
    stored = customer(service, key)
    assert stored["plan"] == "pro" and stored["signup_at"] == DEMO_NOW - timedelta(days=2)
    assert int(service.con.table("customers").count().to_pyarrow().as_py()) == 40  # replaced, not added
    assert service_members(service) == batch_members(service.spec, service.con, DEMO_NOW)


def test_serve_entities_upsert_adds_a_new_key(service):
    service.ingest("customers", [{"customer_id": 5000, "signup_at": "2026-01-02T00:00:00"},
                                 {"customer_id": 5001, "signup_at": "2026-01-03T00:00:00"}], op="upsert")
    changes = service.evaluate()
    assert {(c.key, c.segment, c.kind) for c in changes} == {("5000", "never_purchased", "enter"),
                                                             ("5001", "never_purchased", "enter")}


def test_serve_entities_delete_emits_exits_and_leaves_the_universe(service):
    keys = [in_segment(service, "active")[0], in_segment(service, "never_purchased")[0]]
    orders_before = int(service.con.table("orders").count().to_pyarrow().as_py())
    service.ingest("customers", keys, op="delete")
    changes = service.evaluate()
    assert {(c.key, c.segment, c.kind) for c in changes} == {(str(keys[0]), "active", "exit"),
                                                             (str(keys[1]), "never_purchased", "exit")}
    assert all(customer(service, k) is None and service.member(k) is None for k in keys)
    assert int(service.con.table("orders").count().to_pyarrow().as_py()) == orders_before  # their orders stay
    assert service_members(service) == batch_members(service.spec, service.con, DEMO_NOW)
    service.ingest("customers", keys + [987654], op="delete")  # again, and a key never there: no error
    assert service.evaluate() == []


def test_serve_entities_bad_batches_change_nothing(service):
    key = in_segment(service, "active")[0]
    before = service.con.table("customers").to_pyarrow()
    with pytest.raises(RowsRejected) as caught:
        service.ingest("customers", [{"customer_id": key, "signup_at": "2026-01-01T00:00:00"},
                                     {"customer_id": key, "signup_at": "2026-01-02T00:00:00"}], op="upsert")
    assert [(p.row, p.field) for p in caught.value.problems] == [(1, "customer_id")]
    with pytest.raises(RowsRejected) as caught:
        service.ingest("customers", [key, "seven"], op="delete")
    assert [(p.row, p.field) for p in caught.value.problems] == [(1, "customer_id")]
    with pytest.raises(RowsRejected) as caught:
        service.ingest("orders", [{"order_id": 1}], op="delete")
    assert "entity table customers" in caught.value.problems[0].message
    assert service.con.table("customers").to_pyarrow().equals(before)
    assert service.pending == 0 and int(service.store.table("pending").count().to_pyarrow().as_py()) == 0


def test_serve_entities_over_http(service):
    key = in_segment(service, "never_purchased")[0]
    with TestClient(create_app(service, TOKEN)) as client:
        r = client.put("/v1/sources/customers", headers=AUTH,
                       json=[{"customer_id": key, "signup_at": "2026-01-05T00:00:00", "country": "FR"}])
        assert r.status_code == 200 and r.json()["rows"] == 1
        assert customer(service, key)["country"] == "FR"
        assert client.put("/v1/sources/customers", json=[]).status_code == 401
        r = client.put("/v1/sources/orders", headers=AUTH, json=[{"order_id": 1}])
        assert r.status_code == 422 and r.json()["code"] == "SR902"
        assert client.delete(f"/v1/sources/customers/{key}", headers=AUTH).status_code == 200
        r = client.post("/v1/sources/customers/delete", headers=AUTH, json={"keys": [key + 1, key + 2]})
        assert r.status_code == 200 and r.json()["rows"] == 2
        assert client.delete("/v1/sources/customers/abc", headers=AUTH).json()["code"] == "SR904"
    service.evaluate()
    assert all(customer(service, k) is None for k in (key, key + 1, key + 2))
    assert service_members(service) == batch_members(service.spec, service.con, DEMO_NOW)
