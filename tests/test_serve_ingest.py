"""Ingest (segrules serve, step 1): rows checked against the source table's schema, all or
nothing, appended with the keys they touch in one transaction before the call returns."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

import segrules
from segrules.serve.ingest import RowsRejected
from segrules.serve.service import Service, UnknownSource
from serve_helpers import Clock, load, shop_copy, write_shop


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_shop(tmp_path_factory.mktemp("serve_ingest"), customers=40)


@pytest.fixture
def service(template, tmp_path):
    con = segrules.connect(str(shop_copy(template, tmp_path)))
    svc = Service(load("ecommerce"), con, clock=Clock(), sweep_every=None)
    yield svc
    con.disconnect()


ORDER = {"order_id": 900001, "customer_id": 3, "ordered_at": "2026-09-30T10:00:00", "amount": "12.50",
         "status": "paid"}


def rows_of(service, table: str) -> int:
    return int(service.con.table(table).count().to_pyarrow().as_py())


def test_serve_ingest_appends_rows_and_marks_their_keys_pending(service):
    before = rows_of(service, "orders")
    done = service.ingest("orders", [ORDER, {**ORDER, "order_id": 900002, "customer_id": 5}])
    assert (done.rows, done.batch) == (2, 1)
    assert rows_of(service, "orders") == before + 2
    pending = service.store.table("pending").to_pyarrow()
    assert sorted(pending["customer_id"].to_pylist()) == [3, 5]
    stored = service.con.table("orders").filter(lambda t: t.order_id == 900001).to_pyarrow().to_pylist()[0]
    assert stored["amount"] == Decimal("12.50") and stored["ordered_at"] == datetime(2026, 9, 30, 10)


def test_serve_ingest_rejects_the_whole_batch_naming_row_and_field(service):
    before = rows_of(service, "orders")
    bad = [ORDER, {**ORDER, "order_id": "x"}, {**ORDER, "amount": "1.234"}, {**ORDER, "colour": "red"},
           {**ORDER, "customer_id": None}, {**ORDER, "ordered_at": "yesterday"}]
    with pytest.raises(RowsRejected) as caught:
        service.ingest("orders", bad)
    found = {(p.row, p.field) for p in caught.value.problems}
    assert found == {(1, "order_id"), (2, "amount"), (3, "colour"), (4, "customer_id"), (5, "ordered_at")}
    assert caught.value.diagnostics[0].code == "SR902"
    assert rows_of(service, "orders") == before  # row 0 was fine, and was not written either
    assert service.store.table("pending").count().to_pyarrow().as_py() == 0


def test_serve_ingest_converts_offsets_to_the_spec_time_zone(service):
    service.ingest("events", [{"event_id": 800001, "customer_id": 2, "ts": "2026-09-30T10:00:00+02:00",
                               "name": "login"}])
    row = service.con.table("events").filter(lambda t: t.event_id == 800001).to_pyarrow().to_pylist()[0]
    assert row["ts"] == datetime(2026, 9, 30, 8)  # the shop's time zone is UTC


def test_serve_ingest_refuses_an_entity_key_that_exists(service):
    new = {"customer_id": 5000, "email": "a@b.c", "country": "DE", "signup_at": "2026-09-30T00:00:00"}
    with pytest.raises(RowsRejected) as caught:
        service.ingest("customers", [new, {**new, "customer_id": 1}, new])
    assert {(p.row, p.field) for p in caught.value.problems} == {(1, "customer_id"), (2, "customer_id")}
    service.ingest("customers", [new])
    assert rows_of(service, "customers") == 41


def test_serve_ingest_unknown_source(service):
    with pytest.raises(UnknownSource) as caught:
        service.ingest("clicks", [])
    assert caught.value.diagnostics[0].code == "SR901"


def test_serve_ingest_not_a_list(service):
    with pytest.raises(RowsRejected) as caught:
        service.ingest("orders", {"order_id": 1})
    assert caught.value.problems[0].row is None


def test_serve_ingest_check_rows_types_and_ranges():
    import ibis
    import ibis.expr.datatypes as dt
    from hypothesis import given, settings, strategies as st

    from segrules.serve.ingest import check_rows

    schema = ibis.schema({"k": "int32", "at": dt.Timestamp(timezone="UTC"), "local": "timestamp",
                          "d": "date", "ok": "boolean", "x": "float64"})
    rows = check_rows("s", [{"k": 1, "at": "2026-01-01T10:00:00+02:00", "local": "2026-01-01T10:00:00+02:00",
                             "d": "2026-01-31", "ok": True, "x": 3}], schema, ("k",), "Europe/Berlin").to_pylist()[0]
    assert rows["at"].isoformat() == "2026-01-01T08:00:00+00:00"  # the instant, in a column with a zone
    assert rows["local"].isoformat() == "2026-01-01T09:00:00"  # wall-clock time in the spec's zone
    assert (rows["d"].isoformat(), rows["ok"], rows["x"]) == ("2026-01-31", True, 3.0)

    @settings(max_examples=40, deadline=None)
    @given(st.integers(-(2**40), 2**40))
    def int32_range(value):
        try:
            out = check_rows("s", [{"k": value}], schema, ("k",), "UTC")
            assert -(2**31) <= value < 2**31 and out["k"][0].as_py() == value
        except RowsRejected as exc:
            assert not -(2**31) <= value < 2**31 and exc.problems[0].field == "k"

    int32_range()
    for bad in ({"k": True}, {"k": 1.5}, {"k": 1, "ok": "yes"}, {"k": 1, "d": "31.01.2026"}, {"k": 1, "x": "1"}):
        with pytest.raises(RowsRejected):
            check_rows("s", [bad], schema, ("k",), "UTC")
