"""The source rows held in memory by key (segrules/serve/slices.py): a slice is exactly what the
database's ``key IN (keys)`` filter selects, for any loads, appends (in batches, sorted into
runs and merged), keys absent or present, null keys, integer and string keys; and the service
reads a table again when its rows changed outside the service."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pyarrow as pa
import pytest
from hypothesis import given, settings, strategies as st

import segrules
from segrules.demo import DEMO_NOW
from segrules.serve import slices
from segrules.serve.service import Service
from serve_helpers import Clock, batch_members, load, service_members, shop_copy, write_shop

KEYS = {"int": st.integers(-5, 40), "str": st.sampled_from(["a", "b", "ab", "B", "é", "", "zz"])}


def rows_of(keys: list, start: int) -> pa.Table:
    return pa.table({"k": keys, "v": [f"row{start + i}" for i in range(len(keys))],
                     "n": pa.array([start + i for i in range(len(keys))], pa.int64())})


def reference(tables: list[tuple[int, pa.Table]], keys: list, batch: int) -> Counter:
    """The rows whose key is in ``keys``, of the batches up to ``batch`` (plain Python)."""
    wanted = set(keys)
    return Counter(tuple(r.values()) for b, t in tables if b <= batch for r in t.to_pylist()
                   if r["k"] is not None and r["k"] in wanted)


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["int", "str"]), data=st.data())
def test_serve_slices_slice_equals_the_key_filter(kind, data):
    values = KEYS[kind]
    strategy = st.one_of(st.none(), values)  # rows may have a null key
    key_type = pa.int64() if kind == "int" else pa.string()
    schema = pa.schema([("k", key_type), ("v", pa.string()), ("n", pa.int64())])
    # run_rows=4: appends are sorted into runs, and runs merged, every few batches
    held = slices.Slices({"t": slices.KeyedRows("t", "k", kind, schema, run_rows=4)}, {"t": "slice_t"})
    loaded = rows_of(data.draw(st.lists(strategy, max_size=30)), 0)
    tables = [(0, loaded)]
    held.load(_Raw(loaded), "duckdb", 0)
    upto = 0  # the evaluations' snapshots see ever later batches
    for batch in range(1, data.draw(st.integers(0, 6)) + 1):
        rows = rows_of(data.draw(st.lists(strategy, max_size=12)), 1000 * batch)
        tables.append((batch, rows))
        held.append("t", rows.cast(pa.schema([("k", key_type), ("v", pa.string()), ("n", pa.int32())])), batch)
        keys = data.draw(st.lists(values, max_size=8))
        upto = data.draw(st.integers(upto, batch))
        raw = _Raw(None)
        held.register(raw, pa.array(keys, key_type), upto)
        got = raw.registered["slice_t"]
        assert got.schema == schema
        assert Counter(tuple(r.values()) for r in got.to_pylist()) == reference(tables, keys, upto)
        assert held.check({"t": sum(t.num_rows for b, t in tables if b <= upto)}, upto)


class _Raw:
    """What the slices use of a DuckDB connection: a query's Arrow result and register()."""

    def __init__(self, table):
        self.table, self.registered = table, {}

    def execute(self, sql):
        return self

    def to_arrow_table(self):
        return self.table

    def register(self, name, table):
        self.registered[name] = table


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    return write_shop(tmp_path_factory.mktemp("serve_slices"), customers=40)


def test_serve_slices_rows_written_outside_the_service_are_read_again(template, tmp_path):
    spec = load("ecommerce")
    con = segrules.connect(str(shop_copy(template, tmp_path)))
    service = Service(spec, con, clock=Clock(DEMO_NOW), sweep_every=None)
    assert service.evaluator.slices is not None and set(service.evaluator.slices.tables) == {"orders", "events"}
    # three recent paid orders of customer 7, written to the table directly (not through the service)
    at = DEMO_NOW - timedelta(days=1)
    con.insert("orders", pa.table({"order_id": pa.array([900001, 900002, 900003], pa.int64()),
                                   "customer_id": pa.array([7, 7, 7], pa.int64()),
                                   "ordered_at": pa.array([at] * 3, pa.timestamp("us")),
                                   "amount": pa.array([400, 400, 400], pa.decimal128(12, 2)),
                                   "status": ["paid"] * 3}).cast(con.table("orders").schema().to_pyarrow()))
    service.ingest("events", [{"event_id": 900004, "customer_id": 7, "ts": at.isoformat(), "name": "login"}])
    service.evaluate()
    members = batch_members(spec, con, DEMO_NOW)
    touched = {s: {k for k in keys if k == 7} for s, keys in members.items()}
    assert {s: {k for k in keys if k == 7} for s, keys in service_members(service).items()} == touched
    assert any(touched.values())  # the direct orders make 7 a member of something


def test_serve_slices_a_batch_without_an_append_is_waited_for_then_counted():
    schema = pa.schema([("k", pa.int64()), ("v", pa.string()), ("n", pa.int64())])
    held = slices.Slices({"t": slices.KeyedRows("t", "k", "int", schema)}, {"t": "slice_t"})
    held.load(_Raw(rows_of([1, 2, None], 0)), "duckdb", 0)
    held.append("t", rows_of([2], 10), 1)
    # batch 2 (another table's rows, or a write that never told the slices) brought no rows here
    assert held.current({"t": 4}, 2, timeout=0.05) and held.batch == 2
    # rows the slices never got: not current (the evaluation reads the table again)
    assert not held.current({"t": 5}, 3, timeout=0.05)
