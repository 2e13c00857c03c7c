"""Dead rows: rows the destination refused ``dead_after`` runs in a row are parked.

A permanently bad record (an address the vendor will never take) would otherwise be sent again on
every run, forever.  A row is dead when its latest ``dead_after`` or more rejections come from
distinct runs with no acknowledgement in between.  Parked rows are left out of the changes (and
counted as ``parked``) as long as the change is the one that was refused (same synced values);
a row whose values changed is sent again, and ``--retry-dead`` sends every dead row again.
``segrules sync-log --dead`` lists them.
"""

from __future__ import annotations

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from ..statuses import RowStatus
from .state import CHANGES, SyncState


def dead_rows(state: SyncState, sync: str | None, after: int | dict[str, int]):
    """An Ibis expression: per dead row of ``sync`` (all syncs when None) the sync, key,
    identifier, op, hash and reason of its latest rejection, ``runs`` (runs in a row that refused
    it), ``since`` and ``last`` (times of the first and latest of them).  ``after``: the
    threshold, or one per sync name."""
    t = state.store.table(CHANGES)
    if sync is not None:
        t = t.filter(t.sync == sync)
    ok = t.filter(t.status == RowStatus.OK).group_by(["sync", "key"]).agg(ok_seq=lambda g: g.seq.max())
    # refusals of the destination: rows rejected before sending (a missing or invalid identifier)
    # carry no hash, are never sent, and so are never parked
    rejected = t.filter((t.status == RowStatus.REJECTED) & t.hash.notnull())
    rejected = rejected.left_join(ok, ["sync", "key"]).drop("sync_right", "key_right")
    rejected = rejected.filter(rejected.seq > rejected.ok_seq.fill_null(-1))
    streak = rejected.group_by(["sync", "key"]).agg(runs=lambda g: g.run_id.nunique(),
                                                    since=lambda g: g.at.min(), last_seq=lambda g: g.seq.max())
    if isinstance(after, dict):
        limit = ibis.cases(*[(streak.sync == name, n) for name, n in after.items()], else_=2 ** 31)
    else:
        limit = ibis.literal(after)
    streak = streak.filter(streak.runs >= limit)
    latest = rejected.select("sync", "key", "identifier", "op", "hash", "reason", "seq", last="at")
    out = streak.join(latest, [streak.sync == latest.sync, streak.key == latest.key,
                               streak.last_seq == latest.seq])
    return out.select("sync", "key", "identifier", "op", "hash", "reason", "runs", "since", "last")


def park_dead(diff, state: SyncState, sync: str, after: int) -> int:
    """Leave the dead rows of ``sync`` out of ``diff``'s changes when their change is the refused
    one (same op and hash); return how many were parked."""
    if not state.store.has_table(CHANGES):
        return 0
    dead = dead_rows(state, sync, after).select("key", "op", "hash").to_pyarrow()
    if not dead.num_rows:
        return 0
    parked = 0
    for op, table in list(diff.ops.items()):
        mine = dead.filter(pc.equal(dead["op"], op))
        if not mine.num_rows or not table.num_rows:
            continue
        refused = {(k, h) for k, h in zip(mine["key"].to_pylist(), mine["hash"].to_pylist())}
        keep = pa.array([(k, h) not in refused for k, h in zip(table["key"].to_pylist(), table["hash"].to_pylist())])
        parked += table.num_rows - pc.sum(keep).as_py() if len(keep) else 0
        diff.ops[op] = table.filter(keep)
    return parked


def dead_table(state: SyncState, sync: str | None, after: int, limit: int | None = None) -> pa.Table:
    """The dead rows as a table (``sync-log --dead``), by sync and key."""
    if not state.store.has_table(CHANGES):
        return pa.table({"sync": pa.array([], pa.string()), "key": pa.array([], pa.string()),
                         "identifier": pa.array([], pa.string()), "op": pa.array([], pa.string()),
                         "reason": pa.array([], pa.string()), "runs": pa.array([], pa.int64()),
                         "since": pa.array([], pa.timestamp("us")), "last": pa.array([], pa.timestamp("us"))})
    t = dead_rows(state, sync, after).drop("hash").order_by("sync", "key")
    return (t.limit(limit) if limit else t).to_pyarrow()
