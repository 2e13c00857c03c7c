"""The service equals the batch run (segrules serve, step 5): after any interleaving of ingested
batches (late, out-of-order and future rows, new customers, customers updated and deleted by
key), clock advances (to derived change times, just before and after them, and far) and sweeps, the stored membership equals
``segrules run --as-of`` at that instant, and the enter/exit changes of each evaluation equal
the difference of the batch runs at the two instants — for every segment of the shipped specs
that run on the demo shop; and what lookups and counts answer from memory equals the stored
table after every step.

Which segments must be current when (docs/realtime.md): timed ones always; global ones
(``rfm.*``, ranks) after every evaluation (an ingest, a due entity, a sweep), after a clock
advance with none only from the next one on; swept ones (``days_since``...) after a sweep, and
for the entities an evaluation touched. The change stream replayed from the start always equals
the stored membership.

One service per spec, reset for each example (its tables restored from the template), so an
example costs its steps only. These are the slowest serve tests (about 10-25 s per spec on two
cores): each step runs the service and a full batch run to compare with."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, Phase, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import segrules
from segrules.demo import DEMO_NOW
from segrules.serve.rules import RuleKind
from segrules.serve.service import Service
from serve_helpers import Clock, assert_view_is_the_table, batch_members, load, service_members, write_shop

SPECS = ["lifecycle", "ecommerce", "behaviour"]
# examples per spec; SERVE_EXAMPLES=5 runs five times as many (a longer search before a release)
SCALE = int(os.environ.get("SERVE_EXAMPLES", "1"))
EXAMPLES = {"lifecycle": 8 * SCALE, "ecommerce": 4 * SCALE, "behaviour": 3 * SCALE}
CUSTOMERS = 30
DAY = 86400
# SERVE_SHRINK=0 while developing: a failure is reported as found (each shrink step runs the
# service and a batch run, so shrinking takes minutes)
PHASES = [p for p in Phase if p is not Phase.shrink or os.environ.get("SERVE_SHRINK", "1") != "0"]

offsets = st.one_of(st.integers(-400 * DAY, 5 * DAY), st.sampled_from([0, -1, -7 * DAY, -30 * DAY, -90 * DAY]))
known_key = st.integers(1, CUSTOMERS + 3)  # a few keys with no customer row (yet)
orders = st.fixed_dictionaries({"customer_id": known_key, "offset": offsets,
                                "amount": st.decimals(0, 1500, places=2), "status": st.sampled_from(["paid", "refunded"])})
events = st.fixed_dictionaries({"customer_id": known_key, "offset": offsets,
                                "name": st.sampled_from(["product_view", "add_to_cart", "checkout_start", "login"])})
customers = st.fixed_dictionaries({"offset": st.integers(-40 * DAY, 2 * DAY), "country": st.sampled_from(["DE", "US"]),
                                   "gmail": st.booleans()})
advances = st.sampled_from([1e-6, 1, 3600, DAY, 7 * DAY, 29 * DAY, 91 * DAY, 200 * DAY])


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = write_shop(tmp_path_factory.mktemp("serve_equiv"), customers=CUSTOMERS)
    con = segrules.connect(str(path))
    tables = {name: con.table(name).to_pyarrow() for name in ("customers", "orders", "events")}
    yield con, tables
    con.disconnect()


class ServeMachine(RuleBasedStateMachine):
    spec = None
    con = None
    tables: dict = {}
    service: Service | None = None

    @initialize()
    def start(self):
        cls = type(self)
        for name, table in cls.tables.items():
            cls.con.create_table(name, table, overwrite=True)
        self.clock = Clock(DEMO_NOW)
        if cls.service is None:
            cls.service = Service(cls.spec, cls.con, clock=self.clock, sweep_every=None, reset=True)
        else:
            cls.service.clock = self.clock
            cls.service.reset()
        service = cls.service
        self.swept = {s for s in service.evaluator.segments if _kind(service, s) is RuleKind.SWEPT}
        self.global_ = {s for s in service.evaluator.segments if _kind(service, s) is RuleKind.GLOBAL}
        self.fresh = True  # the swept segments are current (no clock advance since the last sweep)
        self.global_fresh = True  # the global ones are (no clock advance since the last evaluation)
        self.next_id, self.next_key = 10_000_000, 900_000
        self.replayed = {s: set() for s in service.evaluator.segments}
        self.previous = {s: set() for s in service.evaluator.segments}
        self.exact_before = set(self.previous)
        self.check(service.changes(0, limit=10**7))

    def check(self, changes):
        service = type(self).service
        for c in changes:
            (self.replayed[c.segment].add if c.kind == "enter" else self.replayed[c.segment].discard)(int(c.key))
        stored = service_members(service)
        assert self.replayed == stored
        assert_view_is_the_table(service, sorted({int(c.key) for c in changes})[:4])  # lookups, counts
        batch = batch_members(type(self).spec, type(self).con, self.clock.now)
        exact = [s for s in stored if (self.fresh or s not in self.swept)
                 and (self.global_fresh or s not in self.global_)]
        for s in exact:
            assert stored[s] == batch[s], (s, self.clock.now)
            got = {(int(c.key), c.kind) for c in changes if c.segment == s}
            want = {(k, "enter") for k in batch[s] - self.previous[s]} | {(k, "exit") for k in self.previous[s] - batch[s]}
            if s in self.exact_before:  # else: a swept segment changed on the way, seen by the replay
                assert got == want, (s, self.clock.now)
        self.previous = {s: batch[s] if s in exact else self.previous[s] for s in stored}
        self.exact_before = set(exact)

    def at(self, offset):
        return (self.clock.now + timedelta(seconds=offset)).isoformat()

    def ingest(self, source, rows, op="append"):
        type(self).service.ingest(source, rows, op=op)
        self.global_fresh = True
        self.check(type(self).service.evaluate())

    def step(self):
        """The worker's step after a clock advance: global outputs are current again only if it
        evaluated (an entity's change time came); swept ones wait for the sweep."""
        service = type(self).service
        before = service.metrics.evaluations._value.get()
        self.fresh = not self.swept
        changes = service.step()
        self.global_fresh = service.metrics.evaluations._value.get() > before
        self.check(changes)

    @rule(rows=st.lists(orders, min_size=1, max_size=4))
    def ingest_orders(self, rows):
        self.next_id += len(rows)
        self.ingest("orders", [{"order_id": self.next_id + i, "customer_id": r["customer_id"],
                                "ordered_at": self.at(r["offset"]), "amount": str(r["amount"]), "status": r["status"]}
                               for i, r in enumerate(rows)])

    @precondition(lambda self: "events" in type(self).spec.model.sources)
    @rule(rows=st.lists(events, min_size=1, max_size=4))
    def ingest_events(self, rows):
        self.next_id += len(rows)
        self.ingest("events", [{"event_id": self.next_id + i, "customer_id": r["customer_id"],
                                "ts": self.at(r["offset"]), "name": r["name"]} for i, r in enumerate(rows)])

    @rule(rows=st.lists(customers, min_size=1, max_size=2))
    def ingest_customers(self, rows):
        first, self.next_key = self.next_key, self.next_key + len(rows)
        self.ingest("customers", [{"customer_id": first + i, "signup_at": self.at(r["offset"]),
                                   "country": r["country"],
                                   "email": f"c{first + i}@{'gmail.com' if r['gmail'] else 'shop.de'}"}
                                  for i, r in enumerate(rows)])

    @rule(key=known_key, row=customers)
    def upsert_customer(self, key, row):
        """A customer's row replaced by key (its signup time, country, email), or added."""
        self.ingest("customers", [{"customer_id": key, "signup_at": self.at(row["offset"]), "country": row["country"],
                                   "email": f"u{key}@{'gmail.com' if row['gmail'] else 'shop.de'}"}], op="upsert")

    @rule(keys=st.lists(known_key, min_size=1, max_size=2, unique=True))
    def delete_customers(self, keys):
        """Customers deleted by key (one with no row is no error): they leave every segment."""
        self.ingest("customers", keys, op="delete")

    @rule(seconds=advances)
    def advance(self, seconds):
        self.clock.now += timedelta(seconds=seconds)
        self.step()

    @precondition(lambda self: type(self).service.next_due is not None)
    @rule(just=st.sampled_from([-1e-6, 0.0, 1e-6]))
    def advance_to_next_change(self, just):
        """To the next derived change time, or a microsecond before or after it."""
        target = type(self).service.next_due + timedelta(seconds=just)
        self.clock.now = max(self.clock.now, target)
        self.step()

    @rule()
    def sweep(self):
        self.fresh = self.global_fresh = True
        self.check(type(self).service.evaluate(sweep=True))

    @invariant()
    def nothing_pending(self):
        assert type(self).service is None or type(self).service.pending == 0


def _kind(service, segment):
    of = service.evaluator.kinds.of
    if ("segment", segment) in of:
        return of[("segment", segment)]
    derived = service.spec.derived()[segment]
    return max((of[("segment", i)] for i in derived.inputs), key=lambda k: list(RuleKind).index(k))


@pytest.mark.parametrize("name", SPECS)
def test_serve_equivalence_with_batch_runs(name, template):
    con, tables = template
    machine = type(f"ServeMachine_{name}", (ServeMachine,), {"spec": load(name), "con": con, "tables": tables,
                                                               "service": None})
    test = machine.TestCase
    test.settings = settings(max_examples=EXAMPLES[name], stateful_step_count=6, deadline=None,
                             suppress_health_check=list(HealthCheck), phases=PHASES)
    test("runTest").runTest()
