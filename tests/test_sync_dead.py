"""Dead rows: a row refused ``dead_after`` runs in a row is parked (not sent again), listed by
``sync-log --dead``, sent again with ``--retry-dead`` or when its values change."""

from __future__ import annotations

import os
import uuid

import ibis
import pytest
from click.testing import CliRunner

from segrules.cli.app import main
from segrules.state import open_state
from segrules.sync.dead import dead_table
from segrules.sync.state import SyncState

from sync_helpers import people_db, spec_text, write_people
from test_sync_bisect import Vendor, _run

SPEC = spec_text("dest: {type: strict}", """
to_strict:
  segment: active
  destination: dest
  identify_by: email
  fields: {name: first_name}
  dead_after: 2
""")
PEOPLE = {i: (f"p{i}@x.com", f"N{i}", 60) for i in range(1, 31)}


@pytest.fixture(params=["duckdb", "postgres"])
def state_url(request, tmp_path):
    """The state store: a DuckDB file, or a schema in PostgreSQL (the dead-row query runs there)."""
    if request.param == "duckdb":
        yield tmp_path / "s.duckdb"
        return
    if not os.environ.get("SEGRULES_POSTGRES_URL"):
        pytest.skip("needs SEGRULES_POSTGRES_URL")
    schema = f"sync_dead_{uuid.uuid4().hex[:8]}"
    yield f"{os.environ['SEGRULES_POSTGRES_URL']}#{schema}"
    pg = ibis.connect(os.environ["SEGRULES_POSTGRES_URL"])
    pg.drop_database(schema, force=True, cascade=True)
    pg.disconnect()


def _dead(state):
    store = open_state(state)
    try:
        return dead_table(SyncState(store), None, 2).to_pylist()
    finally:
        store.con.disconnect()


def test_sync_dead_row_refused_twice_is_parked_then_retried_on_request(state_url):
    state = state_url
    vendor = Vendor({"p7@x.com"}, batch=10)
    dest = {"strict": vendor.definition()}
    with people_db(PEOPLE) as con:
        for run in (1, 2):
            (o,) = _run(SPEC, con, state, dest)
            assert o.counts["rejected"] == 1 and o.parked == 0, run
        assert [(r["key"], r["runs"], r["op"]) for r in _dead(state)] == [("7", 2, "add")]
        before = vendor.requests
        (o,) = _run(SPEC, con, state, dest)
        assert vendor.requests == before and o.parked == 1 and o.counts["rejected"] == 0 and o.status == "ok"
        (o,) = _run(SPEC, con, state, dest, retry_dead=True)
        assert vendor.requests > before and o.counts["rejected"] == 1 and o.parked == 0
        assert _dead(state)[0]["runs"] == 3
        # the record is fixed upstream: its new values are a new change, sent without --retry-dead
        vendor.poison.clear()
        write_people(con, {**PEOPLE, 7: ("p7@x.com", "Fixed", 60)})
        (o,) = _run(SPEC, con, state, dest)
        assert o.counts["added"] == 1 and o.parked == 0 and "p7@x.com" in vendor.held
        assert _dead(state) == []


def test_sync_dead_rows_listed_by_sync_log(tmp_path):
    state = tmp_path / "s.duckdb"
    vendor = Vendor({"p3@x.com", "p9@x.com"}, batch=10)
    with people_db(PEOPLE) as con:
        for _ in range(2):
            _run(SPEC, con, state, {"strict": vendor.definition()})
    runner = CliRunner()
    result = runner.invoke(main, ["sync-log", "--state", str(state), "--dead", "--dead-after", "2"])
    assert result.exit_code == 0, result.output
    assert "dead rows" in result.output and "p3@x.com" in result.output and "p9@x.com" in result.output
    assert "record p3@x.com is invalid" in result.output
    result = runner.invoke(main, ["sync-log", "--state", str(state), "--dead", "--dead-after", "3"])
    assert result.exit_code == 0 and "no dead rows" in result.output
    result = runner.invoke(main, ["sync-log", "--state", str(state), "--dead", "--run", "abc"])
    assert result.exit_code == 2 and "SR775" in result.output
