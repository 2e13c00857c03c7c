"""The HTTP API of segrules serve (step 3): bearer token on every endpoint but the probes,
ingest (422 names row and field), lookups, the change stream (server-sent events), metrics."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

import segrules
from segrules.serve.app import create_app
from segrules.serve.service import Service
from serve_helpers import TOKEN, Clock, batch_members, load, write_shop

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve_api")
    con = segrules.connect(str(write_shop(folder, customers=40)))
    service = Service(load("ecommerce"), con, clock=Clock(), sweep_every=None)
    with TestClient(create_app(service, TOKEN)) as c:
        c.service = service
        yield c
    con.disconnect()


@pytest.mark.parametrize("path", ["/v1/members/1", "/v1/segments/lapsed/count", "/v1/changes", "/metrics"])
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}", "Bearer "])
def test_serve_api_needs_the_bearer_token(client, path, header):
    r = client.get(path, headers={"Authorization": header} if header else {})
    assert r.status_code == 401 and TOKEN not in r.text


def test_serve_api_ingest_needs_the_token(client):
    assert client.post("/v1/events", json=[]).status_code == 401


def test_serve_api_probes_need_no_token(client):
    assert client.get("/health").json() == {"status": "ok"}
    assert client.get("/ready").status_code == 503  # the worker is not started in this test


def test_serve_api_ingest_then_lookup(client):
    service = client.service
    r = client.post("/v1/sources/orders", headers=AUTH, json=[
        {"order_id": 990001, "customer_id": 11, "ordered_at": "2026-09-30T08:00:00", "amount": 950, "status": "paid"}])
    assert r.status_code == 200 and r.json()["rows"] == 1
    r = client.post("/v1/events", headers=AUTH, json={"rows": [
        {"event_id": 990002, "customer_id": 11, "ts": "2026-09-30T08:00:00", "name": "add_to_cart"}]})
    assert r.status_code == 200
    service.evaluate()
    body = client.get("/v1/members/11", headers=AUTH).json()
    assert "big_spenders" in body["segments"] and body["features"]["orders_90d"] >= 1
    assert body["key"] == 11 and body["as_of"] == "2026-10-01T00:00:00"
    expected = batch_members(service.spec, service.con, service.clock())
    for segment in ("big_spenders", "lapsed", "champions"):
        r = client.get(f"/v1/segments/{segment}/count", headers=AUTH)
        assert r.json() == {"segment": segment, "members": len(expected[segment])}


def test_serve_api_ingest_422_names_row_and_field(client):
    r = client.post("/v1/sources/orders", headers=AUTH, json=[
        {"order_id": 990010, "customer_id": 1, "ordered_at": "2026-09-30T08:00:00", "amount": 1, "status": "paid"},
        {"order_id": 990011, "customer_id": 1, "ordered_at": "2026-09-30T08:00:00", "amount": True}])
    assert r.status_code == 422
    assert r.json()["problems"] == [{"row": 1, "field": "amount", "message": "expected a number (decimal(12, 2))"}]
    assert client.post("/v1/sources/orders", headers=AUTH, content=b"{not json").status_code == 422


def test_serve_api_unknown_names(client):
    assert client.post("/v1/sources/clicks", headers=AUTH, json=[]).json()["code"] == "SR901"
    assert client.get("/v1/segments/nope/count", headers=AUTH).status_code == 404
    assert client.get("/v1/members/123456", headers=AUTH).status_code == 404
    assert client.get("/v1/members/abc", headers=AUTH).json()["code"] == "SR904"


def test_serve_api_change_stream(client):
    service = client.service
    r = client.get("/v1/changes", params={"follow": "false"}, headers=AUTH)
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [e for e in r.text.split("\n\n") if e]
    recorded = service.changes(0, limit=10**6)
    assert len(events) == len(recorded)
    last = events[-1].split("\n")
    assert last[0] == f"id: {recorded[-1].seq}" and json.loads(last[2][len("data: "):]) == recorded[-1].as_json()
    # resume after the last id seen: only what came later
    seen = recorded[-3].seq
    r = client.get("/v1/changes", params={"follow": "false"}, headers={**AUTH, "Last-Event-ID": str(seen)})
    assert [e.split("\n")[0] for e in r.text.split("\n\n") if e] == [f"id: {c.seq}" for c in recorded[-2:]]


def test_serve_api_metrics(client):
    text = client.get("/metrics", headers=AUTH).text
    assert 'segrules_serve_ingested_rows_total{source="orders"}' in text
    assert "segrules_serve_evaluation_seconds_bucket" in text and "segrules_serve_pending_keys" in text


def test_serve_cli_refuses_to_start_without_a_token(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from segrules.cli import main

    monkeypatch.delenv("SEGRULES_SERVE_TOKEN", raising=False)
    spec = str(load("ecommerce").path)
    result = CliRunner().invoke(main, ["serve", spec, "--db", str(tmp_path / "shop.duckdb")])
    assert result.exit_code == 2 and "SR900" in result.output and "SEGRULES_SERVE_TOKEN" in result.output
    monkeypatch.setenv("SEGRULES_SERVE_TOKEN", TOKEN)
    result = CliRunner().invoke(main, ["serve", spec, "--db", str(tmp_path / "shop.duckdb"), "--sweep", "soon"])
    assert result.exit_code == 2 and "SR900" in result.output and "--sweep 'soon'" in result.output
