"""Take a snapshot: the rule's matches at ``as_of``, turned into membership with the stability
controls, stored with its enter/exit events — all computed in the state store's database with
Ibis joins against the previous snapshot.

Per (segment, key), with ``was`` = member in the previous snapshot and ``matched`` = the rule
matches now:

* ``min_days_in: N`` — a member whose rule stops matching stays a member until N days have passed
  since the first snapshot that found it not matching (``unmatched_since``);
* ``cooldown_days: N`` — an entity that left may not enter again until N days after it left.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from datetime import datetime, timedelta, timezone

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa

from ..run.execute import run_query, to_long
from .store import COUNTS, EVENTS, MEMBERS, RUNS, SCHEMAS, HistoryStore, RunInfo, tally

MATCHES = pa.schema([("segment", pa.string()), ("key", pa.string())])


class MembershipQuery:
    """ONE compiled plan of a spec with ``now`` as a query parameter: the (segment, key) matches
    and the universe size at any point in time, without re-checking or re-compiling the spec."""

    def __init__(self, spec, con, params=None):
        self.spec = spec
        self.now = ibis.param(dt.timestamp)
        self.wide = spec.compile(con, as_of=self.now, params=params, features=[])

    def matches(self, as_of: datetime) -> tuple[pa.Table, int]:
        """One query: the key and a boolean per segment, unpivoted to (segment, key) members."""
        wide = run_query(lambda: self.wide.to_pyarrow(params={self.now: as_of}), "evaluating the spec")
        return matches_from_wide(wide, self.spec), wide.num_rows


def matches_from_wide(wide: pa.Table, spec) -> pa.Table:
    """(segment, key as text) for every true segment column of an evaluated wide table."""
    long = to_long(wide, spec.key, spec.segments)
    return pa.table({"segment": long["segment"], "key": long[spec.key].cast(pa.string())})


def evaluate_matches(spec, con, as_of=None, params=None) -> tuple[pa.Table, int, datetime]:
    """The spec's (segment, key) matches at ``as_of`` (keys as text), the universe size, and ``now``."""
    now = spec.now(as_of)
    table, universe = MembershipQuery(spec, con, params).matches(now)
    return table, universe, now


def spec_hash(spec) -> str:
    return hashlib.sha256(spec.document.text.encode("utf-8")).hexdigest()[:16]


def _stability(spec, as_of: datetime) -> pa.Table:
    """Per segment of the spec: the cut-off times of its stability controls (null: none)."""
    rows = {"c_segment": [], "hold_cutoff": [], "cool_cutoff": []}
    for name, seg in spec.model.segments.items():
        rows["c_segment"].append(name)
        rows["hold_cutoff"].append(as_of - timedelta(days=seg.min_days_in) if seg.min_days_in else None)
        rows["cool_cutoff"].append(as_of - timedelta(days=seg.cooldown_days) if seg.cooldown_days else None)
    return pa.table(rows, schema=pa.schema([("c_segment", pa.string()), ("hold_cutoff", pa.timestamp("us")),
                                            ("cool_cutoff", pa.timestamp("us"))]))


def _previous_members(store: HistoryStore, previous: RunInfo | None):
    if previous is None:
        empty = SCHEMAS[MEMBERS].to_pyarrow().empty_table()
        members = ibis.memtable(empty)
    else:
        members = store.members(previous.run_id)
    return members.select(p_segment="segment", p_key="key", p_entered="entered_at", p_unmatched="unmatched_since")


def _last_exits(store: HistoryStore, spec_name: str, as_of: datetime):
    events = store.events(spec_name)
    events = events.filter((events.event == "exited") & (events.at <= ibis.literal(as_of, type=dt.timestamp)))
    return events.group_by(e_segment=events.segment, e_key=events.key).aggregate(last_exit=events.at.max())


def membership_state(store: HistoryStore, spec, matches: pa.Table, as_of: datetime, previous: RunInfo | None):
    """One row per (segment, key) that matches now or was a member: the flags the new snapshot
    is made of (``member``, ``entered``, ``exited``) and the times it carries."""
    now = ibis.literal(as_of, type=dt.timestamp)
    cur = ibis.memtable(matches).mutate(hit=ibis.literal(True))
    prev = _previous_members(store, previous)
    j = cur.outer_join(prev, [cur.segment == prev.p_segment, cur.key == prev.p_key])
    j = j.select(segment=ibis.coalesce(j.segment, j.p_segment), key=ibis.coalesce(j.key, j.p_key),
                 matched=j.hit.notnull(), was=j.p_key.notnull(), p_entered=j.p_entered,
                 p_unmatched=j.p_unmatched).view()  # a new relation: later joins refer to its columns
    cfg = ibis.memtable(_stability(spec, as_of))
    j = j.left_join(cfg, j.segment == cfg.c_segment).drop("c_segment").view()
    if any(seg.cooldown_days for seg in spec.model.segments.values()):
        exits = _last_exits(store, spec.name, as_of)
        j = j.left_join(exits, [j.segment == exits.e_segment, j.key == exits.e_key]).drop("e_segment", "e_key")
    else:
        j = j.mutate(last_exit=ibis.null(dt.timestamp))
    unmatched_since = ibis.coalesce(j.p_unmatched, now)
    held = j.was & ~j.matched & j.hold_cutoff.notnull() & (unmatched_since > j.hold_cutoff)
    blocked = (j.matched & ~j.was & j.cool_cutoff.notnull() & j.last_exit.notnull()
               & (j.last_exit > j.cool_cutoff))
    member = (j.matched & ~blocked) | held
    return j.mutate(member=member, entered=j.matched & ~j.was & ~blocked, exited=j.was & ~member,
                    entered_at=ibis.ifelse(j.was, j.p_entered, now),
                    unmatched_since=ibis.ifelse(j.matched, ibis.null(dt.timestamp), unmatched_since))


def snapshot(store: HistoryStore, spec, matches: pa.Table, universe: int, as_of: datetime,
             previous: RunInfo | None | str = "find") -> RunInfo:
    """Store a snapshot of ``spec`` at ``as_of`` from its rule ``matches``. Atomic: the run row,
    written last, commits it; the run-started record, written first, lets the next writer delete
    the rows of a run killed in between.  ``previous`` is looked up unless given (backfill).
    Callers hold the spec's snapshot lock (``segrules.state.lock.snapshot_lock``)."""
    run_id = uuid.uuid4().hex[:12]
    if previous == "find":
        previous = store.previous(spec.name, as_of)
    seq = store.next_seq(spec.name)
    store.start(run_id, seq, spec.name, as_of)
    # computed once into a temporary table (gone with the connection), then copied from
    temp_name = f"_history_state_{run_id}"
    try:
        state = store.con.create_table(temp_name, membership_state(store, spec, matches, as_of, previous), temp=True)
        try:
            return _write(store, spec, state, run_id, universe, as_of, seq)
        finally:
            store.con.drop_table(temp_name, force=True)
    except Exception:
        # Not committed: remove what was written now.  If the store refuses that too, the
        # next writer of the spec removes it (the run-started record names the rows).
        with contextlib.suppress(Exception):
            store.purge([run_id])
        raise


def _write(store: HistoryStore, spec, state, run_id: str, universe: int, as_of: datetime, seq: int) -> RunInfo:
    """Members, events, counts, then the run row (the commit)."""
    rid = ibis.literal(run_id, type=dt.string)
    store.insert(MEMBERS, state.filter(state.member).select(
        run_id=rid, segment=state.segment, key=state.key, entered_at=state.entered_at,
        unmatched_since=state.unmatched_since, matched=state.matched))
    store.insert(EVENTS, state.filter(state.entered | state.exited).select(
        run_id=rid, segment=state.segment, key=state.key,
        event=ibis.ifelse(state.entered, "entered", "exited"), at=ibis.literal(as_of, type=dt.timestamp)))
    counted = state.group_by("segment").aggregate(
        members=tally(state.member), matched=tally(state.matched & state.member),
        entered=tally(state.entered), exited=tally(state.exited))
    found = {row["segment"]: row for row in counted.to_pyarrow().to_pylist()}
    names = list(dict.fromkeys(spec.segments + list(found)))
    zero = {"members": 0, "matched": 0, "entered": 0, "exited": 0}
    counts = [{"run_id": run_id, "segment": s, **{k: int(found.get(s, zero)[k] or 0) for k in zero}} for s in names]
    store.insert(COUNTS, pa.Table.from_pylist(counts, schema=SCHEMAS[COUNTS].to_pyarrow()))
    info = RunInfo(run_id, seq, spec.name, spec_hash(spec), as_of,
                   datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0), universe, spec.timezone)
    store.insert(RUNS, pa.Table.from_pylist([info.__dict__], schema=SCHEMAS[RUNS].to_pyarrow()))  # the commit
    return info
