"""Convergence of the five destinations and of the older HTTP ones (klaviyo, hubspot, mailchimp
in both modes, braze, webhook): the hypothesis state machine of tests/test_sync_faults.py
run against each vendor's emulator (membership and identifier changes, random 429s / the vendor's
throttling signal, 5xx, stalls, dropped connections before or after the change was applied), and
``segrules sync`` SIGKILLed right after the vendor applied a change but before the state recorded
it: the next run ends exactly at the membership."""

from __future__ import annotations

import signal
import tempfile
from pathlib import Path

import ibis
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from emulators import Faults

from sync_helpers import memory_con, run_sync, write_people
from test_sync_faults import SyncMachine, _sync_process
from vendor_platforms import BY_NAME, ENV, IDS, OLDER, OLDER_IDS, VENDORS

FAULTS = st.fixed_dictionaries({
    "rate_429": st.sampled_from([0.0, 0.2]), "rate_5xx": st.sampled_from([0.0, 0.2]),
    "rate_drop": st.sampled_from([0.0, 0.1]), "rate_timeout": st.sampled_from([0.0, 0.05]),
    "after": st.sampled_from([0.0, 0.2])})


def machine(v):
    class VendorMachine(SyncMachine):
        """SyncMachine's membership and identifier changes (``change_person``) against ``v``'s
        emulator: after any run that reports ok (or partial: rows rejected) the vendor holds exactly
        the valid members; after the faults clear, one run always gets there."""

        env = ENV

        @initialize()
        def setup(self):
            self.dir = Path(tempfile.mkdtemp(prefix=f"segrules-{v.name}-sm-"))
            self.con = memory_con()
            self.people = {i: (f"u{i}@x.com", f"N{i}", 60) for i in range(1, 9)}
            write_people(self.con, self.people)
            self.faults = Faults(seed=1, stall=0.6)
            self.emu = v.emulator(faults=self.faults).__enter__()
            v.prepare(self.emu)
            self.spec = v.spec(self.emu.url, attempts=2, timeout=0.5, options=v.batch(3))
            self.synced = False

        def teardown(self):
            if hasattr(self, "emu"):
                self.emu.__exit__(None, None, None)
                self.con.disconnect()

        def _valid(self):
            return {k: p for k, p in self.people.items() if "@" in p[0]}

        @rule(faults=FAULTS)  # with stalls
        def set_faults(self, faults):
            for name, value in faults.items():
                setattr(self.faults, name, value)

        @rule()
        def sync(self):
            (o,) = run_sync(self.spec, self.con, self.dir / "state.duckdb", env=ENV)
            if o.status in ("ok", "partial") and not o.error:
                self.synced = True
                assert v.audience(self.emu) == v.expected(self._valid())

        @invariant()
        def synced_means_equal(self):
            if getattr(self, "synced", False) and hasattr(self, "emu"):
                assert v.audience(self.emu) == v.expected(self._valid())

    VendorMachine.__name__ = f"{v.name.title()}Machine"
    VendorMachine.TestCase.settings = settings(max_examples=5, stateful_step_count=7, deadline=None,
                                               suppress_health_check=list(HealthCheck))
    return VendorMachine


for _v in VENDORS + OLDER:
    globals()[f"test_vendor_state_machine_{_v.name}"] = machine(_v).TestCase


KILL_ON = {  # the requests after which each vendor has applied a change: (adds, removes)
    "customerio": ("add_customers", "remove_customers"),
    "iterable": ("POST /api/lists/subscribe", "POST /api/lists/unsubscribe"),
    "sendgrid": ("PUT /v3/marketing/contacts", "DELETE /v3/marketing/lists/"),
    "google_ads": (":run", ":run"),
    "meta": ("POST /v25.0/23850001/users", "DELETE /v25.0/23850001/users"),
    "klaviyo": ("POST /api/profile-bulk-import-jobs", "DELETE /api/lists/L1/relationships/profiles"),
    "hubspot": ("/memberships/add", "/memberships/remove"),
    "mailchimp": ("POST /3.0/lists/aud1/segments/9", "POST /3.0/lists/aud1/segments/9"),
    "mailchimp_tag": ("/tags", "/tags"),
    "braze": ("POST /users/track", "POST /users/track"),
    "webhook": ("POST /", "POST /"),
}


@pytest.mark.parametrize("name", IDS + OLDER_IDS)
def test_vendor_sigkill_after_the_vendor_applied_a_change_then_rerun_converges(name, tmp_path):
    v = BY_NAME[name]
    db, state, spec = tmp_path / "people.duckdb", tmp_path / "state.duckdb", tmp_path / "spec.yaml"
    people = {i: (f"p{i}@shop.com", f"N{i}", (i * 7) % 100) for i in range(1, 301)}

    def write(people):
        con = ibis.duckdb.connect(str(db))
        write_people(con, people)
        con.disconnect()

    write(people)
    with v.emulator() as emu:
        v.prepare(emu)
        spec.write_text(v.spec(emu.url, options=v.batch(40)))
        handle, kill = emu.handle, {"victim": None, "on": "", "seen": 0}

        def killing(request):
            answer = handle(request)
            if kill["victim"] is not None and kill["on"] in f"{request.method} {request.path}":
                kill["seen"] += 1
                if kill["seen"] == 1:  # the vendor applied a batch: the process dies before recording it
                    kill["victim"].send_signal(signal.SIGKILL)
            return answer

        emu.handle = killing
        for kill_on in KILL_ON[name]:
            kill.update(on=kill_on, seen=0)
            kill["victim"] = _sync_process(spec, db, state, ENV)
            kill["victim"].wait(timeout=120)
            assert kill["victim"].returncode == -signal.SIGKILL, kill_on
            kill["victim"] = None
            done = _sync_process(spec, db, state, ENV)
            out, err = done.communicate(timeout=120)
            assert done.returncode == 0, out.decode() + err.decode()
            assert v.audience(emu) == v.expected(people), kill_on
            people = {i: (e, n, (s + 31) % 100) for i, (e, n, s) in people.items()}
            write(people)
