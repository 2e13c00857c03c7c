"""The history tables in the state store, and reading them.

A snapshot is written in steps — members, events, counts, then ONE row in ``history_runs``.
That last row is the commit: every reader joins through ``history_runs``, so the rows of a run
that failed or was killed half-way are never seen, and the previous snapshot stays the latest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt

from ..errors import SpecError
from ..state import StateStore, open_state

RUNS, MEMBERS, EVENTS, COUNTS = "history_runs", "history_members", "history_events", "history_counts"
SCHEMAS = {
    RUNS: ibis.schema({"run_id": "string", "seq": "int64", "spec_name": "string", "spec_hash": "string",
                       "as_of": "timestamp", "created_at": "timestamp", "universe": "int64",
                       "timezone": "string"}),
    MEMBERS: ibis.schema({"run_id": "string", "segment": "string", "key": "string", "entered_at": "timestamp",
                          "unmatched_since": "timestamp", "matched": "boolean"}),
    EVENTS: ibis.schema({"run_id": "string", "segment": "string", "key": "string", "event": "string",
                         "at": "timestamp"}),
    COUNTS: ibis.schema({"run_id": "string", "segment": "string", "members": "int64", "matched": "int64",
                         "entered": "int64", "exited": "int64"}),
}


def tally(condition):
    """How many rows a boolean is true for (``CASE WHEN``: PostgreSQL cannot cast boolean to bigint)."""
    return ibis.ifelse(condition, 1, 0).sum()


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    seq: int
    spec_name: str
    spec_hash: str
    as_of: datetime
    created_at: datetime
    universe: int
    timezone: str


class HistoryStore:
    """The ``history_*`` tables of a state store (created on first use)."""

    def __init__(self, state: StateStore):
        self.state = state
        self.con = state.con
        existing = set(state.tables())
        for name, schema in SCHEMAS.items():
            if name not in existing:
                self.con.create_table(name, schema=schema, **self._db())

    @classmethod
    def open(cls, url: str | None = None) -> "HistoryStore":
        return cls(open_state(url))

    def _db(self) -> dict:
        return {"database": self.state.schema} if self.state.schema else {}

    def table(self, name: str):
        return self.state.table(name)

    def insert(self, name: str, data) -> None:
        """Append ``data`` (an Ibis table expression or Arrow table) to a history table."""
        self.con.insert(name, data, **self._db())

    # -- reading, always through committed runs ----------------------------------------------
    def runs(self, spec_name: str) -> list[RunInfo]:
        t = self.table(RUNS)
        rows = t.filter(t.spec_name == spec_name).order_by([t.as_of, t.seq]).to_pyarrow().to_pylist()
        return [RunInfo(**row) for row in rows]

    def next_seq(self) -> int:
        value = self.table(RUNS).seq.max().to_pyarrow().as_py()
        return int(value or 0) + 1

    def resolve(self, spec_name: str, ref: str | None = "latest") -> RunInfo:
        """A committed run of ``spec_name``: ``latest``, or a run id or a unique prefix of one."""
        runs = self.runs(spec_name)
        if not runs:
            raise SpecError(f"no snapshots of spec {spec_name!r} in the state store {self.state.location}",
                            code="SR750", hint="take one with: segrules run SPEC --db URL --snapshot")
        if ref in (None, "latest"):
            return runs[-1]
        found = [r for r in runs if r.run_id.startswith(ref)]
        if len(found) != 1:
            what = "no run" if not found else f"{len(found)} runs"
            raise SpecError(f"{what} of spec {spec_name!r} matches {ref!r}", code="SR751",
                            hint="runs: " + ", ".join(r.run_id for r in runs[-5:]))
        return found[0]

    def previous(self, spec_name: str, as_of: datetime) -> RunInfo | None:
        """The run a new snapshot at ``as_of`` follows: the latest one at or before ``as_of``."""
        earlier = [r for r in self.runs(spec_name) if r.as_of <= as_of]
        return earlier[-1] if earlier else None

    def members(self, run_id: str):
        t = self.table(MEMBERS)
        return t.filter(t.run_id == ibis.literal(run_id, type=dt.string))

    def counts(self, run_id: str):
        t = self.table(COUNTS)
        return t.filter(t.run_id == ibis.literal(run_id, type=dt.string))

    def events(self, spec_name: str, after_seq: int | None = None, run_id: str | None = None):
        """Enter/exit events of committed runs of ``spec_name``: of one run, or of every run after
        ``after_seq``; columns key, segment, event, run_id, at."""
        runs = self.table(RUNS)
        runs = runs.filter(runs.spec_name == spec_name)
        if run_id is not None:
            runs = runs.filter(runs.run_id == run_id)
        if after_seq is not None:
            runs = runs.filter(runs.seq > after_seq)
        events = self.table(EVENTS)
        joined = events.join(runs.select("run_id", "seq"), "run_id")
        return joined.order_by([joined.seq, joined.segment, joined.event, joined.key]).select(
            "key", "segment", "event", "run_id", "at")
