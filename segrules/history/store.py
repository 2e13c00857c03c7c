"""The history tables in the state store, and reading them.

A snapshot is written in steps — a row in ``history_starts`` (the run-started record), members,
events, counts, then ONE row in ``history_runs``.  That last row is the commit: every reader joins
through ``history_runs``, so the rows of a run that failed or was killed half-way are never seen,
and the previous snapshot stays the latest.  The next writer of the spec (holding its snapshot
lock, see ``lock.py``) finds the started runs that never committed and deletes their rows.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timezone

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from ..errors import BackendError, SpecError
from ..state import StateStore, open_state

RUNS, MEMBERS, EVENTS, COUNTS = "history_runs", "history_members", "history_events", "history_counts"
STARTS = "history_starts"
SCHEMAS = {
    STARTS: ibis.schema({"run_id": "string", "seq": "int64", "spec_name": "string", "as_of": "timestamp",
                         "started_at": "timestamp", "pid": "int64", "host": "string"}),
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


def _fits(have: dt.DataType, want: dt.DataType) -> bool:
    """A stored column is usable when it has the kind of type segrules wrote (width may differ)."""
    if want.is_integer():
        return have.is_integer()
    return type(have) is type(want)


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
                state.create(name, schema)
                continue
            have = self.table(name).schema()
            wrong = [c for c, t in schema.items() if c not in have or not _fits(have[c], t)]
            if wrong:
                raise BackendError(f"the state store {state.location} has a table {name} that was not made by "
                                   f"segrules: it lacks the column(s) {', '.join(wrong)} (or they have another type)",
                                   code="SR755", hint="use another state store (--state), or rename that table")

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

    def next_seq(self, spec_name: str) -> int:
        """The next sequence number of ``spec_name``'s snapshots (1, 2, 3…).  Taken under the
        spec's snapshot lock, so no two runs get the same one."""
        taken = [self.table(t) for t in (RUNS, STARTS)]
        values = [t.filter(t.spec_name == spec_name).seq.max().to_pyarrow().as_py() for t in taken]
        return max(int(v or 0) for v in values) + 1

    # -- started runs ---------------------------------------------------------------------------
    def start(self, run_id: str, seq: int, spec_name: str, as_of: datetime) -> None:
        """The run-started record: written before any row of the run."""
        row = {"run_id": run_id, "seq": seq, "spec_name": spec_name, "as_of": as_of,
               "started_at": datetime.now(timezone.utc).replace(tzinfo=None), "pid": os.getpid(),
               "host": socket.gethostname()}
        self.insert(STARTS, pa.Table.from_pylist([row], schema=SCHEMAS[STARTS].to_pyarrow()))

    def abandoned(self, spec_name: str) -> list[str]:
        """Runs of ``spec_name`` that started and never committed (killed, or failed).  Only
        meaningful under the spec's snapshot lock: otherwise a run in progress looks the same."""
        starts, runs = self.table(STARTS), self.table(RUNS)
        starts = starts.filter(starts.spec_name == spec_name)
        left = starts.anti_join(runs, starts.run_id == runs.run_id)
        return sorted(left.run_id.to_pyarrow().to_pylist())

    def purge(self, run_ids: list[str]) -> None:
        """Delete every row of these (uncommitted) runs, the started record last."""
        for name in (MEMBERS, EVENTS, COUNTS, STARTS):
            self.state.delete(name, "run_id", run_ids)

    def clean_abandoned(self, spec_name: str) -> list[str]:
        run_ids = self.abandoned(spec_name)
        self.purge(run_ids)
        return run_ids

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
