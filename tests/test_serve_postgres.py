"""segrules serve on PostgreSQL: the same service (transactions, the compiled plans run through
the driver, deletes) on the second tested backend; membership equals the batch run there after
ingests, clock advances and sweeps, and a failed evaluation leaves nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import ibis
import pytest

import segrules
from segrules.demo import DEMO_NOW
from segrules.serve.service import Service
from rfm_helpers import connect
from serve_helpers import Clock, assert_view_is_the_table, batch_members, service_members, write_shop

SPEC = """
version: 1
name: rt_{tag}
entity: {{table: c_{tag}, key: customer_id, time: signup_at}}
sources:
  orders: {{table: o_{tag}, key: customer_id, time: ordered_at}}
features:
  spend_30d: sum(orders.amount where status == 'paid' within 30d)
segments:
  frequent: {{where: count(orders within 30d) > 1}}
  new: {{where: signup_at >= now - 14d}}
  quiet: {{where: days_since(max(orders.ordered_at)) > 60}}
  top_spenders: {{where: percent_rank(spend_30d) >= 0.8 and spend_30d > 0}}
"""


@pytest.fixture
def shop(tmp_path):
    con = connect("postgres")
    tag = uuid.uuid4().hex[:10]
    duck = ibis.duckdb.connect(str(write_shop(tmp_path, customers=30)), read_only=True)
    con.create_table(f"c_{tag}", duck.table("customers").to_pyarrow())
    con.create_table(f"o_{tag}", duck.table("orders").to_pyarrow())
    duck.disconnect()
    spec = segrules.load_text(SPEC.format(tag=tag))
    yield con, spec, tag
    for table in [f"c_{tag}", f"o_{tag}", *(t for t in con.list_tables() if t.startswith(f"serve_rt_{tag}_"))]:
        con.drop_table(table, force=True)
    con.disconnect()


def test_serve_postgres_membership_equals_batch_runs(shop):
    con, spec, tag = shop
    clock = Clock()
    service = Service(spec, con, clock=clock, sweep_every=None)
    assert service_members(service) == batch_members(spec, con, clock.now)
    service.ingest(f"c_{tag}", [{"customer_id": 7001, "signup_at": "2026-09-25T00:00:00+02:00"}])
    service.ingest("orders", [{"order_id": 990000 + i, "customer_id": k, "ordered_at": t, "amount": "700.00",
                               "status": "paid"} for i, (k, t) in enumerate([(7001, "2026-09-29T10:00:00"),
                                                                             (7001, "2026-09-30T10:00:00"),
                                                                             (3, "2026-06-01T00:00:00")])])
    changes = service.evaluate()
    assert {(c.key, c.segment) for c in changes if c.kind == "enter"} >= {("7001", "frequent"), ("7001", "new"),
                                                                         ("7001", "top_spenders")}
    assert service_members(service) == batch_members(spec, con, clock.now)
    clock.now = DEMO_NOW + timedelta(days=29, hours=10)  # the first order of 7001 turns 30 days old
    assert ("7001", "frequent", "exit") in {(c.key, c.segment, c.kind) for c in service.step()}
    members = batch_members(spec, con, clock.now)
    stored = service_members(service)
    assert {s: stored[s] for s in ("frequent", "new")} == {s: members[s] for s in ("frequent", "new")}
    service.evaluate(sweep=True)
    assert service_members(service) == members
    assert_view_is_the_table(service, [3, 7001, 5])  # lookups and counts from memory = the table


def test_serve_postgres_failed_evaluation_leaves_nothing(shop):
    con, spec, tag = shop
    service = Service(spec, con, clock=Clock(), sweep_every=None)
    service.ingest("orders", [{"order_id": 990100, "customer_id": 5, "ordered_at": "2026-09-30T00:00:00",
                               "amount": "10.00", "status": "paid"}])
    seq, original = service.latest_seq, service.store.insert
    service.store.insert = lambda table, rows: (_ for _ in ()).throw(RuntimeError("killed")) \
        if table == "changes" else original(table, rows)
    with pytest.raises(RuntimeError):
        service.evaluate()
    service.store.insert = original
    assert service.store.table("pending").count().to_pyarrow().as_py() == 1
    assert service.changes(seq) == []
    service.evaluate()
    assert service_members(service) == batch_members(spec, con, service.clock())
    assert_view_is_the_table(service, [5])


def test_serve_postgres_entity_upserts_deletes_and_a_stream(shop, tmp_path):
    """Entity rows upserted and deleted by key, and a stream source's records with their offsets,
    on PostgreSQL (the DELETE through the scratch table, the offsets in the ingest transaction)."""
    import stream_plugin
    from segrules.serve.streams import StreamFeeder

    con, spec, tag = shop
    service = Service(spec, con, clock=Clock(), sweep_every=None)
    entity = f"c_{tag}"
    gone = [k for k in (4, 5) if service.member(k)["segments"]]
    service.ingest(entity, [{"customer_id": 3, "signup_at": "2026-09-28T00:00:00"}], op="upsert")
    service.ingest(entity, [4, 5], op="delete")
    changes = service.evaluate()
    assert "new" in service.member(3)["segments"] and service.member(4) is None and service.member(5) is None
    assert {c.key for c in changes if c.kind == "exit"} >= {str(k) for k in gone}
    assert service_members(service) == batch_members(spec, con, service.clock())
    (tmp_path / "log").mkdir()
    stream_plugin.append(tmp_path / "log", "p0", [
        {"source": "orders", "row": {"order_id": 990200 + i, "customer_id": 6, "ordered_at": "2026-09-30T08:00:00",
                                     "amount": "20.00", "status": "paid"}} for i in range(3)])
    filelog = segrules.default_registry(plugins=[stream_plugin], load_entrypoints=False).stream_sources["filelog"]
    first = StreamFeeder(service, filelog, {"path": str(tmp_path / "log"), "max": "2"})
    assert first.feed() == 2 and first.feed() == 1  # two runs: two offset rows
    (tmp_path / "log" / "p0.committed").unlink()  # as if the broker never heard: it re-delivers from 0
    again = StreamFeeder(service, filelog, {"path": str(tmp_path / "log"), "seek": "no"})
    assert again.consumer.context.resume == {"p0": 2} and again.feed() == 0
    offsets = con.table(again.table).to_pyarrow().to_pylist()  # compacted when it started
    assert [(r["partition"], r["offset"]) for r in offsets] == [("p0", "2")]
    orders = con.table(f"o_{tag}")
    assert orders.filter(orders.order_id >= 990200).count().to_pyarrow().as_py() == 3
    service.evaluate()
    assert service_members(service) == batch_members(spec, con, service.clock())
