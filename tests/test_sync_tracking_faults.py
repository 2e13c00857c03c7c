"""Segment and RudderStack under faults: the hypothesis state machine of test_sync_faults, run
against the tracking-API emulator with random 429s, 5xx, stalls, dropped connections, faults after
the vendor applied a batch and ``segrules sync`` processes SIGKILLed mid-run; and after a 1% change
on 100k members only the changes are sent."""

from __future__ import annotations

import shutil
import signal
import tempfile
from pathlib import Path

import ibis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import segrules
from emulators import Faults, TrackingEmulator

from sync_helpers import flip_one_percent, hundred_k_members, members, memory_con, run_sync, write_people
from test_sync_faults import _sync_process
from test_sync_tracking import ENV, KEY, tracking_spec


class KillingTracker(TrackingEmulator):
    """SIGKILLs ``victim`` after applying its ``kill_at``-th batch (before answering it)."""

    victim = None
    kill_at, seen = 0, 0

    def handle(self, request):
        answer = super().handle(request)
        if self.victim is not None:
            self.seen += 1
            if self.seen == self.kill_at:
                self.victim.send_signal(signal.SIGKILL)
        return answer


FAULTS = st.fixed_dictionaries({
    "rate_429": st.sampled_from([0.0, 0.3]), "rate_5xx": st.sampled_from([0.0, 0.3]),
    "rate_timeout": st.sampled_from([0.0, 0.2]), "rate_drop": st.sampled_from([0.0, 0.2]),
    "after": st.sampled_from([0.0, 0.3])})
FAULT_NAMES = ("rate_429", "rate_5xx", "rate_timeout", "rate_drop", "after")


class TrackingMachine(RuleBasedStateMachine):
    """After any run that reports ok, the vendor holds exactly the membership (and the traits);
    after faults clear, one run always restores it, whatever runs were killed before."""

    kind, emit = "segment", "traits"

    @initialize()
    def setup(self):
        self.dir = Path(tempfile.mkdtemp(prefix="segrules-tracking-sm-"))
        self.db, self.state = self.dir / "people.duckdb", self.dir / "state.duckdb"
        self.people = {i: (f"u{i}@x.com", f"N{i}", 60) for i in range(1, 9)}
        self._write()
        self.faults = Faults(seed=1, stall=0.6)
        self.em = KillingTracker(KEY, faults=self.faults).__enter__()
        self.spec = self.dir / "spec.yaml"
        self.spec.write_text(tracking_spec(self.em.url, kind=self.kind, emit=self.emit,
                                           options="\n  audience_key: active").replace(
            "max_attempts: 20", "max_attempts: 3").replace("timeout: 2", "timeout: 0.4"))
        self.synced = False

    def teardown(self):
        if hasattr(self, "em"):
            self.em.__exit__(None, None, None)
            shutil.rmtree(self.dir, ignore_errors=True)

    def _write(self):
        con = ibis.duckdb.connect(str(self.db))
        write_people(con, self.people)
        con.disconnect()

    def _held(self) -> set[str]:
        return self.em.trait_members("active") if self.emit == "traits" else self.em.event_members("active")

    def _expected(self) -> set[str]:
        return {p[0] for p in members({k: p for k, p in self.people.items() if "@" in p[0]}).values()}

    def _traits_right(self) -> bool:
        return self.emit != "traits" or all(self.em.traits[p[0]]["name"] == p[1] for p in members(
            {k: p for k, p in self.people.items() if "@" in p[0]}).values())

    @rule(who=st.integers(1, 10), score=st.integers(0, 99), name=st.sampled_from(["A", "B"]),
          email=st.sampled_from([None, "new", "bad"]))
    def change_person(self, who, score, name, email):
        old = self.people.get(who, (f"u{who}@x.com", "N", 0))
        address = {None: old[0], "new": f"u{who}.{score}@x.com", "bad": f"u{who}-at-x"}[email]
        self.people[who] = (address, name, score)
        self._write()
        self.synced = False

    @rule(faults=FAULTS)
    def set_faults(self, faults):
        for name, value in faults.items():
            setattr(self.faults, name, value)

    def _run(self):
        con = segrules.connect(str(self.db), read_only=True)
        try:
            spec = self.spec.read_text()
            return run_sync(spec, con, self.state, env=ENV)[0]
        finally:
            con.disconnect()

    @rule()
    def sync(self):
        o = self._run()
        if o.status in ("ok", "partial"):
            self.synced = True
            assert self._held() == self._expected() and self._traits_right()

    @rule(at=st.integers(1, 2))
    def killed_sync(self, at):
        """A ``segrules sync`` process SIGKILLed right after the vendor applied its ``at``-th batch."""
        self.em.kill_at, self.em.seen = at, 0
        self.em.victim = _sync_process(self.spec, self.db, self.state, ENV)
        try:
            self.em.victim.wait(timeout=120)
        finally:
            self.em.victim = None
        self.synced = False

    @precondition(lambda self: not self.synced)
    @rule()
    def heal_and_sync(self):
        for name in FAULT_NAMES:
            setattr(self.faults, name, 0.0)
        o = self._run()
        assert o.status in ("ok", "partial"), o.error
        self.synced = True

    @invariant()
    def synced_means_equal(self):
        if getattr(self, "synced", False) and hasattr(self, "em"):
            assert self._held() == self._expected() and self._traits_right()


class RudderStackEventsMachine(TrackingMachine):
    kind, emit = "rudderstack", "events"


SETTINGS = settings(max_examples=5, stateful_step_count=8, deadline=None, suppress_health_check=list(HealthCheck))
TrackingMachine.TestCase.settings = SETTINGS
RudderStackEventsMachine.TestCase.settings = SETTINGS
test_sync_tracking_faults_segment_traits_state_machine = TrackingMachine.TestCase
test_sync_tracking_faults_rudderstack_events_state_machine = RudderStackEventsMachine.TestCase


def test_sync_tracking_faults_one_percent_change_sends_only_the_changes(tmp_path):
    con = memory_con()
    people = hundred_k_members()
    write_people(con, people)
    state = tmp_path / "s.duckdb"
    with TrackingEmulator(KEY) as em:
        text = tracking_spec(em.url, fields="{name: first_name}").replace("timeout: 2", "timeout: 60")
        (o,) = run_sync(text, con, state, env=ENV)
        assert o.status == "ok" and o.counts["added"] == 100_000 and em.events == 100_000
        first_requests = len(em.log)
        # the minimum: 2,500 events and 500 KB per request, whichever binds (bytes, here)
        minimum = max(-(-100_000 // 2_500), -(-sum(len(r.body) for r in em.log) // 500_000))
        assert minimum <= first_requests <= minimum + 1, (first_requests, minimum)
        assert len(flip_one_percent(people)) == 1_000
        write_people(con, people)
        (o,) = run_sync(text, con, state, env=ENV)
        assert em.events - 100_000 == 1_000 and o.counts["added"] + o.counts["removed"] == 1_000
        assert len(em.log) - first_requests == 2  # one batch of removals, one of additions
        assert em.trait_members("active") == {p[0] for p in members(people).values()}
    con.disconnect()
