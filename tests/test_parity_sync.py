"""Parity suite, sync state round trips: the audience evaluated on the backend and the sync state
kept in a schema of the same database (DuckDB, PostgreSQL, Spark). A first sync sends the
audience; a second one after a data change sends only the difference; a run that fails half-way
keeps what the destination acknowledged, and the next run sends the rest, nothing lost and
nothing acknowledged sent again. Small (40 people, three syncs): on Spark each query or insert of
the state costs ~0.5 s."""

from __future__ import annotations

import pyarrow as pa
import pytest

import segrules
from emulators import WebhookReceiver
from emulators.server import Reply
from parity_kit import unique
from segrules.state import StateStore
from segrules.statuses import SyncStatus
from segrules.sync import SyncRun, SyncState, plan_syncs
from sync_helpers import members
from test_sync_engine import ENV, SECRET, hook_spec


class FailingReceiver(WebhookReceiver):
    """The webhook receiver, answering 503 to every batch from number ``fail_from`` on."""

    fail_from: int | None = None

    def handle(self, request):
        if self.fail_from is not None and len(self.batches) >= self.fail_from:
            raise Reply(503, {"error": "down for maintenance"})
        return super().handle(request)


def _write(con, table: str, people: dict) -> None:
    ids = sorted(people)
    con.create_table(table, pa.table({"id": pa.array(ids, pa.int64()), "email": [people[i][0] for i in ids],
                                      "first_name": [people[i][1] for i in ids],
                                      "score": pa.array([people[i][2] for i in ids], pa.int64())}), overwrite=True)


def _sync(text: str, con, store: StateStore, table: str):
    spec = segrules.load_text(text, "spec.yaml")
    planned = plan_syncs(spec.document, list(spec.check(con).schemas[table].names), spec.registry.destinations,
                         None, env=ENV)
    run = SyncRun(spec, con, store, planned, as_of="2026-11-01")
    (outcome,) = run.deliver(run.plan())
    return outcome


def _expected(people):
    return {k: (p[0], {"name": p[1], "ds": p[2] * 2}) for k, p in members(people).items()}


def _sent(hook, since: int) -> set[str]:
    return {row["key"] for batch in hook.batches[since:] for row in batch["rows"]}


def _changed(old: dict, new: dict) -> set[str]:
    a, b = _expected(old), _expected(new)
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def test_parity_sync_state_round_trip(parity_con):
    name, con = parity_con
    table, schema = unique("people"), unique("syncstate")
    con.create_database(schema, force=True)
    store = StateStore(con, schema, f"{name} parity")
    people = {i: (f"p{i}@x.com", f"N{i}", (i * 37) % 100) for i in range(1, 41)}
    try:
        _write(con, table, people)
        with FailingReceiver(secret=SECRET) as hook:
            text = hook_spec(hook.url, batch=8).replace("max_attempts: 20", "max_attempts: 2").replace(
                "table: people", f"table: {table}")
            assert _sync(text, con, store, table).status is SyncStatus.OK
            assert hook.members == _expected(people)
            assert {"sync_changes", "sync_runs"} <= set(con.list_tables(database=schema))  # in the backend
            sent = len(hook.batches)

            # a data change, and a run that fails half-way: what was acknowledged stays acknowledged
            changed = dict(people)
            for i in range(1, 41, 5):
                changed[i] = (people[i][0], people[i][1], 100 - people[i][2])  # joins or leaves
            changed[2] = (people[2][0], "Renamed", people[2][2])
            changed[3] = ("moved@x.com", people[3][1], 99)  # a new identifier
            changed[4] = (people[4][0], people[4][1], (people[4][2] + 50) % 100)
            _write(con, table, changed)
            hook.fail_from = sent + 1  # the first batch (the removals) goes through
            failed = _sync(text, con, store, table)
            assert failed.status in (SyncStatus.FAILED, SyncStatus.PARTIAL), failed
            acknowledged = _sent(hook, sent)
            assert acknowledged and hook.members != _expected(changed)

            # the next run sends only the rest of the difference: nothing lost, nothing sent twice
            hook.fail_from, sent = None, len(hook.batches)
            assert _sync(text, con, store, table).status is SyncStatus.OK
            assert hook.members == _expected(changed) and hook.replays == 0
            resent = _sent(hook, sent)
            assert resent | acknowledged == _changed(people, changed)
            assert not resent & (acknowledged - {"3"})  # 3: its old identifier removed, then the new one added
        runs = SyncState(store).runs().column("status").to_pylist()
        assert sorted(runs).count(SyncStatus.OK) == 2 and len(runs) == 3
    finally:
        con.drop_table(table, force=True)
        if name == "postgres":  # DuckDB's (in memory) and Spark's (a temporary warehouse) go with the run
            con.drop_database(schema, force=True, cascade=True)
