"""Malformed successes: a 2xx that does not parse where JSON is promised, or whose per-row error
list is truncated, is no acknowledgement of the rows it cannot vouch for."""

from __future__ import annotations

from segrules.plugin import BatchResult, Row
from segrules.state import open_state
from segrules.sync import SyncState
from segrules.sync.bisect import deliver
from emulators import MailchimpEmulator

from sync_helpers import people_db, run_sync
from test_sync_platforms import KEY, PLATFORMS, _emails, platform_spec


def test_sync_malformed_truncated_error_list_vouches_for_no_unlisted_row():
    rows = [Row(str(i), f"id{i}") for i in range(8)]
    bad = {"1", "6"}

    def send(op, batch):  # lists at most one error, counts them all
        errors = [r.key for r in batch if r.key in bad]
        return BatchResult.from_errors(batch, {k: "refused" for k in errors[:1]}, complete=len(errors) <= 1)

    result = send("add", rows)
    assert result.ok == {} and result.rejected == {"1": "refused"} and result.incomplete
    d = deliver(send, "add", rows)
    ok = {k for _, r in d.parts for k in r.ok}
    rejected = {k for _, r in d.parts for k in r.rejected}
    assert ok == {r.key for r in rows} - bad and rejected == bad and d.requests > 1


def test_sync_malformed_mailchimp_truncated_errors_resolved_in_smaller_batches(tmp_path):
    p = next(p for p in PLATFORMS if p.name == "mailchimp")
    people = {i: (f"p{i}@shop.com", f"N{i}", 60) for i in range(1, 41)}
    bad = {"p3@shop.com", "p17@shop.com", "p30@shop.com"}
    with people_db(people) as con, MailchimpEmulator(KEY, reject_emails=bad, list_errors=1) as emu:
        p.prepare(emu)
        (o,) = run_sync(platform_spec(p, emu.url), con, tmp_path / "s.duckdb", env={p.env: KEY})
        assert o.status == "partial" and o.counts["rejected"] == 3 and o.counts["added"] == 37
        assert o.unacknowledged == 0 and p.audience(emu) == _emails(people) - bad
        store = open_state(tmp_path / "s.duckdb")
        acked = SyncState(store).acknowledged("active_sync").to_pyarrow()["identifier"].to_pylist()
        store.con.disconnect()
        assert set(acked) == _emails(people) - bad


def test_sync_malformed_mailchimp_non_json_200_acknowledges_nothing(tmp_path):
    p = next(p for p in PLATFORMS if p.name == "mailchimp")
    people = {i: (f"p{i}@shop.com", f"N{i}", 60) for i in range(1, 11)}

    class Broken(MailchimpEmulator):
        def handle(self, request):
            status, *rest = super().handle(request)
            return (status, b"<html>gateway</html>") if request.path.endswith("/segments/9") else (status, *rest)

    with people_db(people) as con, Broken(KEY) as emu:
        p.prepare(emu)
        (o,) = run_sync(platform_spec(p, emu.url), con, tmp_path / "s.duckdb", env={p.env: KEY})
        assert o.status == "failed" and "SR825" not in o.error and "not JSON" in o.error
        store = open_state(tmp_path / "s.duckdb")
        assert SyncState(store).acknowledged("active_sync").count().to_pyarrow().as_py() == 0
        store.con.disconnect()
