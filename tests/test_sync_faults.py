"""Crash safety and incrementality: a process SIGKILLed mid-sync, a hypothesis state machine over
membership changes and faults, and no full re-send after a small change."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import ibis
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from emulators import Faults, WebhookReceiver
from emulators.klaviyo import KlaviyoEmulator

from sync_helpers import memory_con, members, run_sync, write_people
from test_sync_engine import ENV, SECRET, hook_spec

ROOT = Path(__file__).resolve().parent.parent


def _expected(people):
    return {k: (p[0].lower(), {"name": p[1], "ds": p[2] * 2}) for k, p in members(people).items()}


class KillingReceiver(WebhookReceiver):
    """Applies batches like the receiver, and SIGKILLs ``victim`` while answering batch ``kill_at``."""

    victim: subprocess.Popen | None = None
    kill_at = 0

    def handle(self, request):
        answer = super().handle(request)
        if self.victim is not None and len(self.batches) == self.kill_at:
            self.victim.send_signal(signal.SIGKILL)
        return answer


def _sync_process(spec: Path, db: Path, state: Path, extra_env: dict | None = None) -> subprocess.Popen:
    env = {**os.environ, **(extra_env or ENV), "COLUMNS": "120"}
    return subprocess.Popen([sys.executable, "-m", "segrules.cli", "sync", str(spec), "--db", str(db),
                             "--state", str(state)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_sync_faults_sigkill_mid_sync_then_rerun_ends_exactly_at_membership(tmp_path):
    db, state, spec = tmp_path / "people.duckdb", tmp_path / "state.duckdb", tmp_path / "spec.yaml"
    people = {i: (f"p{i}@x.com", f"N{i}", (i * 7) % 100) for i in range(1, 601)}
    con = ibis.duckdb.connect(str(db))
    write_people(con, people)
    con.disconnect()
    with KillingReceiver(secret=SECRET) as hook:
        spec.write_text(hook_spec(hook.url, batch=25).replace("max_attempts: 20", "max_attempts: 3"))
        hook.kill_at = 5
        hook.victim = _sync_process(spec, db, state)
        hook.victim.wait(timeout=120)
        assert hook.victim.returncode == -signal.SIGKILL
        assert 0 < len(hook.members) < len(_expected(people)), "the kill did not land mid-sync"
        hook.victim = None
        done = _sync_process(spec, db, state)
        stdout, stderr = done.communicate(timeout=120)
        assert done.returncode == 0, stdout.decode() + stderr.decode()
        assert hook.members == _expected(people)
        assert hook.replays >= 1, "the batch in flight at the kill was not sent again"
        sent = len(hook.batches)
        again = _sync_process(spec, db, state)
        again.communicate(timeout=120)
        assert again.returncode == 0 and len(hook.batches) == sent, "a run after the recovery sent again"
    # the run log tells the killed run from the two that finished
    from segrules.state import open_state
    from segrules.sync.state import SyncState
    store = open_state(state)
    statuses = SyncState(store).runs().column("status").to_pylist()
    store.con.disconnect()
    assert statuses == ["ok", "ok", "interrupted"]  # newest first


class KillingKlaviyo(KlaviyoEmulator):
    """SIGKILLs ``victim`` right after applying its request number ``kill_at`` of ``kill_on``."""

    victim: subprocess.Popen | None = None
    kill_on, kill_at, seen = "", 0, 0

    def handle(self, request):
        answer = super().handle(request)
        if self.victim is not None and f"{request.method} {request.path}" == self.kill_on:
            self.seen += 1
            if self.seen == self.kill_at:
                self.victim.send_signal(signal.SIGKILL)
        return answer


def test_sync_faults_sigkill_during_klaviyo_import_and_removal(tmp_path):
    """Killed after Klaviyo applied an import job (then after a list removal) but before the state
    recorded it: the rerun replays it harmlessly and the list ends exactly at the membership."""
    from test_sync_klaviyo import KEY, klaviyo_spec
    db, state, spec = tmp_path / "people.duckdb", tmp_path / "state.duckdb", tmp_path / "spec.yaml"
    people = {i: (f"p{i}@shop.com", f"N{i}", (i * 7) % 100) for i in range(1, 301)}
    con = ibis.duckdb.connect(str(db))
    write_people(con, people)
    con.disconnect()
    env = {"KLAVIYO_API_KEY": KEY}
    with KillingKlaviyo(KEY) as kl:
        kl.create_list("L1")
        spec.write_text(klaviyo_spec(kl.url))
        for kill_on in ("POST /api/profile-bulk-import-jobs", "DELETE /api/lists/L1/relationships/profiles"):
            kl.kill_on, kl.kill_at, kl.seen = kill_on, 1, 0
            kl.victim = _sync_process(spec, db, state, env)
            kl.victim.wait(timeout=120)
            assert kl.victim.returncode == -signal.SIGKILL, kill_on
            kl.victim = None
            done = _sync_process(spec, db, state, env)
            out, err = done.communicate(timeout=120)
            assert done.returncode == 0, out.decode() + err.decode()
            assert kl.list_emails("L1") == {p[0] for p in members(people).values()}, kill_on
            people = {i: (e, n, (s + 31) % 100) for i, (e, n, s) in people.items()}
            con = ibis.duckdb.connect(str(db))
            write_people(con, people)
            con.disconnect()


def test_sync_faults_no_full_resend_after_one_percent_change(tmp_path):
    con = memory_con()
    rng = random.Random(5)
    people = {i: (f"p{i}@x.com", "N", 60 if i % 2 else 40) for i in range(1, 200_001)}  # 100k members
    write_people(con, people)
    state = tmp_path / "s.duckdb"
    with WebhookReceiver() as hook:
        text = hook_spec(hook.url, batch=10_000, signed=False, options="\n  max_bytes: 5000000", timeout=60)
        (o,) = run_sync(text, con, state)
        assert o.counts["added"] == 100_000
        first = sum(len(b["rows"]) for b in hook.batches)
        flipped = rng.sample(sorted(people), 1_000)  # 1% of the people change membership
        for i in flipped:
            email, name, score = people[i]
            people[i] = (email, name, 100 - score)
        write_people(con, people)
        (o,) = run_sync(text, con, state)
        second = sum(len(b["rows"]) for b in hook.batches) - first
    assert first == 100_000
    assert second == 1_000 and o.counts["added"] + o.counts["removed"] == 1_000
    assert len(hook.members) == len(members(people))
    con.disconnect()


FAULTS = st.fixed_dictionaries({
    "rate_429": st.sampled_from([0.0, 0.2]), "rate_5xx": st.sampled_from([0.0, 0.2]),
    "rate_drop": st.sampled_from([0.0, 0.1]), "after": st.sampled_from([0.0, 0.2])})


class SyncMachine(RuleBasedStateMachine):
    """Membership changes, faults and (possibly failing) runs; after any run that reports ok the
    receiver holds exactly the membership, and after faults clear one run always restores it."""

    env = ENV  # the secrets its destination reads (a subclass for another destination sets its own)

    @initialize()
    def setup(self):
        self.dir = Path(tempfile.mkdtemp(prefix="segrules-sync-sm-"))
        self.con = memory_con()
        self.people = {i: (f"u{i}@x.com", f"N{i}", 60) for i in range(1, 9)}
        write_people(self.con, self.people)
        self.faults = Faults(seed=1)
        self.hook = WebhookReceiver(faults=self.faults).__enter__()
        self.spec = hook_spec(self.hook.url, batch=3).replace("max_attempts: 20", "max_attempts: 2")
        self.synced = False

    def teardown(self):
        if hasattr(self, "hook"):
            self.hook.__exit__(None, None, None)
            self.con.disconnect()

    @rule(who=st.integers(1, 10), score=st.integers(0, 99), name=st.sampled_from(["A", "B"]),
          email=st.sampled_from([None, "same", "new", "bad"]))
    def change_person(self, who, score, name, email):
        old = self.people.get(who, (f"u{who}@x.com", "N", 0))
        address = {None: old[0], "same": old[0], "new": f"u{who}.{score}@x.com", "bad": f"u{who}-at-x"}[email]
        self.people[who] = (address, name, score)
        write_people(self.con, self.people)
        self.synced = False

    @rule(faults=FAULTS)
    def set_faults(self, faults):
        for name, value in faults.items():
            setattr(self.faults, name, value)

    @rule()
    def sync(self):
        (o,) = run_sync(self.spec, self.con, self.dir / "state.duckdb", env=self.env)
        if o.status in ("ok", "partial"):
            self.synced = True
            valid = {k: p for k, p in self.people.items() if "@" in p[0]}
            assert self.hook.members == _expected(valid)

    @precondition(lambda self: not self.synced)
    @rule()
    def heal_and_sync(self):
        for name in ("rate_429", "rate_5xx", "rate_drop", "rate_timeout", "after"):  # every fault off
            setattr(self.faults, name, 0.0)
        (o,) = run_sync(self.spec, self.con, self.dir / "state.duckdb", env=self.env)
        assert o.status in ("ok", "partial"), o.error
        self.synced = True

    @invariant()
    def synced_means_equal(self):
        if getattr(self, "synced", False) and hasattr(self, "hook"):
            valid = {k: p for k, p in self.people.items() if "@" in p[0]}
            assert self.hook.members == _expected(valid)


SyncMachine.TestCase.settings = settings(max_examples=8, stateful_step_count=8, deadline=None,
                                         suppress_health_check=list(HealthCheck))
test_sync_faults_state_machine = SyncMachine.TestCase
