"""The stream-source seam of segrules serve (``register_stream_sources``), with the file-backed
source of tests/stream_plugin.py: records feed the same ingest path as POST; their offsets are
stored with the rows, so a restart after a crash between the append and the consumer's commit
resumes without losing a record or appending one twice, even from a consumer that cannot seek;
a rejected record is stored with its problems and the stream moves on. A hypothesis test kills
the feeder at any ingest, before or after its commit, over several partitions with bad records."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import segrules
import stream_plugin
from segrules.serve.service import Service
from segrules.serve.streams import StreamFeeder
from serve_helpers import Clock, batch_members, load, service_members, shop_copy, write_shop
from stream_plugin import append


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_shop(tmp_path_factory.mktemp("serve_streams"), customers=30)


@pytest.fixture(scope="module")
def filelog():
    registry = segrules.default_registry(plugins=[stream_plugin], load_entrypoints=False)
    return registry.stream_sources["filelog"]


def order(i: int, customer: int, amount: str = "700.00") -> dict:
    return {"source": "orders", "row": {"order_id": 660000 + i, "customer_id": customer,
                                        "ordered_at": "2026-09-30T09:00:00", "amount": amount, "status": "paid"}}


def event(i: int, customer: int) -> dict:
    return {"source": "events", "row": {"event_id": 770000 + i, "customer_id": customer,
                                        "ts": "2026-09-30T09:30:00", "name": "add_to_cart"}}


def stored_ids(con, table: str, column: str, low: int) -> list[int]:
    t = con.table(table)
    return sorted(t.filter(t[column] >= low)[column].to_pyarrow().to_pylist())


@pytest.fixture
def shop(template, tmp_path):
    (tmp_path / "log").mkdir()
    return shop_copy(template, tmp_path), tmp_path / "log"


def test_serve_streams_records_feed_the_ingest_path(shop, filelog):
    path, log = shop
    append(log, "p0", [order(1, 3), event(1, 4), event(2, 5), order(2, 6)])
    append(log, "p1", [order(3, 3), {"source": "customers", "row": {"customer_id": 9001,
                                                                     "signup_at": "2026-09-29T00:00:00"}}])
    service = Service(load("ecommerce"), segrules.connect(str(path)), clock=Clock(), sweep_every=None)
    feeder = StreamFeeder(service, filelog, {"path": str(log)})
    assert feeder.feed() == 6 and feeder.feed() == 0
    service.evaluate()
    assert stored_ids(service.con, "orders", "order_id", 660000) == [660001, 660002, 660003]
    assert stored_ids(service.con, "events", "event_id", 770000) == [770001, 770002]
    assert service_members(service) == batch_members(service.spec, service.con, Clock()())
    assert service.member(9001) is not None
    assert feeder.consumer.commits[0] == {"p0": 3, "p1": 1}
    assert feeder.stored == {"p0": 3, "p1": 1}


def test_serve_streams_crash_before_commit_then_restart_loses_and_repeats_nothing(shop, filelog):
    path, log = shop
    append(log, "p0", [order(i, 1 + i % 5) for i in range(1, 6)])
    con = segrules.connect(str(path))
    service = Service(load("ecommerce"), con, clock=Clock(), sweep_every=None)
    feeder = StreamFeeder(service, filelog, {"path": str(log)})

    def killed(offsets):  # the process dies after the rows and offsets committed, before the broker hears
        raise KeyboardInterrupt
    feeder.consumer.commit = killed
    with pytest.raises(KeyboardInterrupt):
        feeder.feed()
    assert not (log / "p0.committed").exists()
    con.disconnect()
    append(log, "p0", [order(6, 2), order(7, 4)])
    for seek in ("no", "yes"):  # a consumer that re-delivers from its own position, and one that seeks
        con = segrules.connect(str(path))
        service = Service(load("ecommerce"), con, clock=Clock(), sweep_every=None)
        feeder = StreamFeeder(service, filelog, {"path": str(log), "seek": seek})
        assert feeder.consumer.context.resume == {"p0": 4 if seek == "no" else 6}
        offsets = con.table(feeder.table).to_pyarrow().to_pylist()  # compacted at each start: the last row
        assert [(r["partition"], r["offset"]) for r in offsets] == [("p0", "4" if seek == "no" else "6")]
        assert feeder.feed() == (2 if seek == "no" else 0)  # offsets 0-4 re-delivered and dropped
        service.evaluate()
        assert stored_ids(con, "orders", "order_id", 660000) == [660000 + i for i in range(1, 8)]
        assert service_members(service) == batch_members(service.spec, con, Clock()())
        con.disconnect()


def test_serve_streams_rejected_batch_is_stored_and_the_stream_moves_on(shop, filelog):
    path, log = shop
    bad = {"source": "orders", "row": {"order_id": 660100, "customer_id": 2, "ordered_at": "soon",
                                       "amount": "1.00", "status": "paid"}}
    append(log, "p0", [order(1, 3), bad, {"source": "clicks", "row": {"x": 1}}, order(2, 4),
                       {**order(3, 5), "op": "merge"}])
    service = Service(load("ecommerce"), segrules.connect(str(path)), clock=Clock(), sweep_every=None)
    feeder = StreamFeeder(service, filelog, {"path": str(log)})
    assert feeder.feed() == 2  # the bad record out of its run, the good ones in
    rejected = feeder.rejected_batches()
    assert [(r["offset"], r["source"]) for r in rejected] == [(1, "orders"), (2, "clicks"), (4, "orders")]
    assert rejected[2]["problems"][0]["message"] == "op 'merge': expected one of append, upsert, delete"
    assert rejected[0]["problems"] == [{"field": "ordered_at",
                                        "message": "'soon' is not a timestamp (2026-01-31T10:00:00)"}]
    assert "no source 'clicks'" in rejected[1]["problems"][0]["message"]
    assert stored_ids(service.con, "orders", "order_id", 660000) == [660001, 660002]
    assert feeder.stored == {"p0": 4}
    assert 'segrules_serve_stream_rejected_total{stream="filelog"} 3.0' in service.metrics.exposition().decode()


def test_serve_streams_entity_updates_and_deletes(shop, filelog):
    path, log = shop
    append(log, "p0", [{"source": "customers", "op": "upsert", "row": {"customer_id": 4, "country": "FR",
                                                                        "signup_at": "2025-01-01T00:00:00"}},
                       {"source": "customers", "op": "delete", "row": {"customer_id": 5}}])
    service = Service(load("ecommerce"), segrules.connect(str(path)), clock=Clock(), sweep_every=None)
    was = service.member(5)["segments"]
    feeder = StreamFeeder(service, filelog, {"path": str(log)})
    assert feeder.feed() == 2
    changes = service.evaluate()
    assert {(c.segment, c.kind) for c in changes if c.key == "5"} == {(s, "exit") for s in was}
    t = service.con.table("customers")
    assert t.filter(t.customer_id == 4).country.to_pyarrow().to_pylist() == ["FR"]
    assert service_members(service) == batch_members(service.spec, service.con, Clock()())


def test_serve_streams_a_failed_round_reopens_at_the_stored_offsets(shop, filelog):
    path, log = shop
    append(log, "p0", [order(1, 3), event(1, 3), order(2, 4)])
    service = Service(load("ecommerce"), segrules.connect(str(path)), clock=Clock(), sweep_every=None)
    feeder = StreamFeeder(service, filelog, {"path": str(log)})
    real, calls = service.ingest, []

    def flaky(source, rows, **kw):  # the database fails on the second run of the poll
        calls.append(source)
        if len(calls) == 2:
            raise OSError("connection lost")
        return real(source, rows, **kw)
    service.ingest = flaky
    with pytest.raises(OSError):
        feeder.feed()
    first = feeder.consumer
    feeder._failed(OSError("connection lost"))  # what the worker does with it
    assert first.closed and feeder.consumer is None
    assert feeder.feed() == 2  # reopened at offset 0: the event and order 2, nothing twice
    assert stored_ids(service.con, "orders", "order_id", 660000) == [660001, 660002]
    assert stored_ids(service.con, "events", "event_id", 770000) == [770001]


def test_serve_streams_feeder_thread_feeds_until_stopped(shop, filelog):
    import time
    path, log = shop
    service = Service(load("ecommerce"), segrules.connect(str(path)), clock=Clock(), sweep_every=None)
    feeder = StreamFeeder(service, filelog, {"path": str(log)}, poll_timeout=0.05)
    append(log, "p0", [order(1, 3)])
    feeder.consumer.position["p0"] = 0  # the partition appeared after the consumer opened
    feeder.start()
    try:
        deadline = time.monotonic() + 10
        while not feeder.stored and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        feeder.stop()
    assert feeder.stored == {"p0": 0} and feeder.consumer is None
    assert stored_ids(service.con, "orders", "order_id", 660000) == [660001]


EXAMPLE = itertools.count()
good_or_bad = st.lists(st.tuples(st.sampled_from(["p0", "p1", "p2"]), st.booleans()), min_size=1, max_size=12)


@pytest.fixture(scope="module")
def lifecycle_service(template, tmp_path_factory):
    """One service for every example (its orders are only appended; each example's ids are new)."""
    path = shop_copy(template, tmp_path_factory.mktemp("serve_streams_prop"))
    con = segrules.connect(str(path))
    yield Service(load("lifecycle"), con, clock=Clock(), sweep_every=None)
    con.disconnect()


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(records=good_or_bad, kill_at=st.integers(0, 6), after_append=st.booleans(), seek=st.booleans(),
       data=st.data())
def test_serve_streams_any_kill_point_appends_every_good_record_once(lifecycle_service, filelog, tmp_path_factory,
                                                                       records, kill_at, after_append, seek, data):
    """Records over three partitions, some bad; the process killed at any ingest (before or after
    its append committed), then restarted, with a consumer that seeks or one that re-delivers:
    every good record is in the table once, every bad one is stored as rejected, nothing else."""
    service = lifecycle_service
    log = tmp_path_factory.mktemp("prop_log")
    base = 200000 + 1000 * next(EXAMPLE)  # each example its own order ids and stream name
    written = {}
    for i, (p, good) in enumerate(records):
        row = {"order_id": base + i, "customer_id": 1 + i % 7, "ordered_at": "2026-09-30T09:00:00" if good else "x",
               "amount": "5.00", "status": "paid"}
        append(log, p, [{"source": "orders", "row": row}])
        written[base + i] = good
    options = {"path": str(log), "max": str(data.draw(st.integers(1, 5), label="max")), "seek": "yes" if seek else "no"}
    feeder = StreamFeeder(service, filelog, options, name=f"s{base}")
    real, calls = service.ingest, []

    def dying(source, rows, **kw):
        calls.append(1)
        if len(calls) == kill_at + 1 and not after_append:
            raise KeyboardInterrupt
        done = real(source, rows, **kw)
        if len(calls) == kill_at + 1:
            raise KeyboardInterrupt
        return done
    service.ingest = dying
    try:
        for _ in records:  # at least one record a poll
            feeder.feed()
    except KeyboardInterrupt:
        pass
    finally:
        service.ingest = real
    restarted = StreamFeeder(service, filelog, options, name=f"s{base}")
    for _ in records:
        restarted.feed()
    orders = service.con.table("orders")
    stored = orders.filter((orders.order_id >= base) & (orders.order_id < base + 1000)).order_id
    ids = stored.to_pyarrow().to_pylist()
    assert sorted(ids) == sorted(k for k, good in written.items() if good)  # each good one, once
    rejected = restarted.rejected_batches()
    assert len(rejected) == sum(not good for good in written.values())
