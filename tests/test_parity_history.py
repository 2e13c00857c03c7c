"""Parity suite, history round trip: membership evaluated on the backend, two snapshots stored
in a state store in the same database, read back, and the enter/exit events between them equal
the difference of the two memberships; the rows of a run that never committed are removed by the
next writer (on Spark by rewriting the table: it has no DELETE, segrules/run/spark_backend.py)."""

from __future__ import annotations

from datetime import datetime

import ibis

from parity_kit import unique
from segrules.history import HistoryStore, evaluate_matches, snapshot
from segrules.history.store import MEMBERS
from segrules.state import StateStore
from test_parity_specs import baseline_con, demo_file, load_on, shop  # noqa: F401 -- the shared shop

AS_OF = [datetime(2026, 9, 1, 6, 30), datetime(2026, 11, 1, 6, 30)]


def test_parity_history_snapshots_round_trip(shop):
    name, con, prefix = shop
    schema = None if name == "duckdb" else unique("hist")
    if schema:
        con.create_database(schema, force=True)
    try:
        store = HistoryStore(StateStore(con, schema, f"{name} parity"))
        spec = load_on("lifecycle", prefix)
        members = []
        for as_of in AS_OF:
            matches, universe, now = evaluate_matches(spec, con, as_of)
            run = snapshot(store, spec, matches, universe, now)
            got = {(r["segment"], r["key"]) for r in store.members(run.run_id).to_pyarrow().to_pylist()}
            assert got == {(r["segment"], r["key"]) for r in matches.to_pylist()}
            members.append(got)
        events = {(r["segment"], r["key"], r["event"]) for r in store.events(spec.name).to_pyarrow().to_pylist()
                  if r["at"] == AS_OF[1]}
        assert events == {(s, k, "entered") for s, k in members[1] - members[0]} | \
            {(s, k, "exited") for s, k in members[0] - members[1]}
        assert events  # the two months differ
        # a run killed after writing some rows: invisible, then deleted by the next writer
        committed = store.runs(spec.name)
        store.start("killed", 99, spec.name, AS_OF[1])
        store.insert(MEMBERS, store.members(committed[-1].run_id).mutate(run_id=ibis.literal("killed")))
        assert store.abandoned(spec.name) == ["killed"]
        assert store.clean_abandoned(spec.name) == ["killed"]
        assert store.abandoned(spec.name) == [] and store.members("killed").count().execute() == 0
        assert store.runs(spec.name) == committed
        assert {(r["segment"], r["key"]) for r in store.members(committed[-1].run_id).to_pyarrow().to_pylist()} \
            == members[1]
    finally:
        if schema and name == "postgres":
            con.drop_database(schema, force=True, cascade=True)
