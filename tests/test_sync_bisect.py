"""Batch bisection: a batch the vendor refuses whole is split until the bad rows are isolated;
every other row lands, the bad rows are rejected with the vendor's message, and the extra
requests stay within 2*log2 of the batch size (the issue's bound, with 100 batches of 100)."""

from __future__ import annotations

import math
import threading

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import segrules
from segrules.plugin import BatchRejected, BatchResult, DestinationDef, Limits, Row
from segrules.state import open_state
from segrules.sync import SyncRun, plan_syncs
from segrules.sync.bisect import deliver, split
from emulators import TrackingEmulator

from sync_helpers import people_db, spec_text

from test_sync_tracking import ENV, KEY, tracking_spec


class Vendor:
    """An in-memory vendor that refuses a whole batch holding a poisoned identifier."""

    def __init__(self, poison: set[str], batch: int):
        self.poison, self.batch = poison, batch
        self.held: set[str] = set()
        self.requests = 0
        self.lock = threading.Lock()

    def definition(self) -> DestinationDef:
        vendor = self

        class Options(BaseModel):
            pass

        class Client:
            limits = Limits(vendor.batch)

            def send(self, op: str, rows: list[Row]) -> BatchResult:
                with vendor.lock:
                    vendor.requests += 1
                bad = [r.identifier for r in rows if r.identifier in vendor.poison]
                if bad:
                    raise BatchRejected(f"400 Bad Request: record {bad[0]} is invalid")
                with vendor.lock:
                    vendor.held |= {r.identifier for r in rows} if op != "remove" else set()
                return BatchResult.all_ok(rows)

            def close(self) -> None:
                pass

        return DestinationDef("strict", Options, lambda options, context: Client())


def _run(text: str, con, state, destinations, **kwargs):
    spec = segrules.load_text(text, "spec.yaml")
    planned = plan_syncs(spec.document, None, {**spec.registry.destinations, **destinations}, env=ENV)
    run = SyncRun(spec, con, open_state(state), planned, as_of="2026-11-01", **kwargs)
    return run.deliver(run.plan())


STRICT = spec_text("dest: {type: strict}", "to_strict: {segment: active, destination: dest, identify_by: email}")


def test_sync_bisect_one_poisoned_record_in_10000_costs_at_most_2_log2_extra_requests(tmp_path):
    ppl = {i: (f"p{i}@x.com", "N", 60) for i in range(1, 10_001)}
    vendor = Vendor({"p4242@x.com"}, batch=100)
    with people_db(ppl) as con:
        (o,) = _run(STRICT, con, tmp_path / "s.duckdb", {"strict": vendor.definition()})
    batches = 100
    extra = vendor.requests - batches
    assert extra <= 2 * math.log2(batches), extra
    assert o.requests == vendor.requests
    assert vendor.held == {p[0] for p in ppl.values()} - {"p4242@x.com"}
    assert o.counts["added"] == 9_999 and o.counts["rejected"] == 1 and o.status == "partial"
    assert o.reasons == {"400 Bad Request: record p4242@x.com is invalid": 1}


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 300), bad=st.sets(st.integers(0, 299), max_size=6))
def test_sync_bisect_delivers_every_good_row_and_rejects_exactly_the_bad(n, bad):
    """Against an oracle: any number of bad rows anywhere; good rows ok, bad rows rejected."""
    rows = [Row(str(i), f"id{i}") for i in range(n)]
    poison = {f"id{i}" for i in bad if i < n}

    def send(op, batch):
        if any(r.identifier in poison for r in batch):
            raise BatchRejected("refused")
        return BatchResult.all_ok(batch)

    d = deliver(send, "add", rows)
    ok = [k for _, r in d.parts for k in r.ok]
    rejected = [k for _, r in d.parts for k in r.rejected]
    assert d.error is None and sorted(ok + rejected, key=int) == [r.key for r in rows]
    assert set(rejected) == {r.key for r in rows if r.identifier in poison}
    if len(poison) == 1 and n > 1:
        assert d.requests - 1 <= 2 * math.log2(n)


def test_sync_bisect_a_row_refused_only_with_others_is_delivered_alone():
    """A vendor that refuses batches of more than 3 rows (a size limit, not a bad record): no row
    is rejected, every row lands."""
    rows = [Row(str(i), f"id{i}") for i in range(10)]
    held = []

    def send(op, batch):
        if len(batch) > 3:
            raise BatchRejected("payload too large")
        held.extend(r.key for r in batch)
        return BatchResult.all_ok(batch)

    d = deliver(send, "add", rows)
    assert sorted(held, key=int) == [r.key for r in rows] and not any(r.rejected for _, r in d.parts)


def test_sync_bisect_split_is_uneven_and_covers_the_batch():
    rows = [Row(str(i), str(i)) for i in range(100)]
    first, second = split(rows)
    assert (len(first), len(second)) == (38, 62) and first + second == rows
    assert [len(p) for p in split(rows[:2])] == [1, 1]


def test_sync_bisect_segment_emulator_isolates_the_poisoned_event(tmp_path):
    """Against the tracking-API emulator: a 400 for one bad event among 10,000 (4 batches of
    2,500): the bad one is rejected with Segment's message, every other event lands."""
    ppl = {i: (f"p{i}@x.com", "N", 60) for i in range(1, 10_001)}
    with people_db(ppl) as con, TrackingEmulator(KEY, poison={"p777@x.com"}) as em:
        from sync_helpers import run_sync
        (o,) = run_sync(tracking_spec(em.url), con, tmp_path / "s.duckdb", env=ENV)
        requests = len(em.log)
    assert em.trait_members("active") == {p[0] for p in ppl.values()} - {"p777@x.com"}
    assert o.counts["rejected"] == 1 and o.counts["added"] == 9_999
    [reason] = o.reasons
    assert reason.startswith("segment: HTTP 400") and "p777@x.com is invalid" in reason
    assert requests - 4 <= 2 * math.log2(2_500)
