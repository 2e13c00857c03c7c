"""The diff of one sync: current audience against what the destination acknowledged, as Ibis
expressions evaluated by the state store's database.

* add: valid members the destination does not hold (or holds under another identifier);
* update: members it holds whose synced fields changed (every held member with ``--full-resync``);
* remove (mirror only): keys it holds that are no longer valid members, and the old identifier of
  members whose identifier changed;
* in ``upsert`` mode adds and updates are both ``upsert`` (attributes only, no membership).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import pyarrow as pa

from ..run.execute import run_query


@dataclass
class Diff:
    """The materialised changes of one sync (PyArrow tables with key, identifier, fields, hash,
    vendor_id) and the rows rejected before sending (key, identifier, problem)."""

    ops: dict[str, pa.Table] = field(default_factory=dict)
    rejected: pa.Table | None = None
    acknowledged: int = 0
    retried: int = 0
    audience: pa.Table | None = None  # the valid audience, for snapshot destinations

    def count(self, op: str) -> int:
        table = self.ops.get(op)
        return table.num_rows if table is not None else 0


def diff_expressions(audience, latest, mode: str, full_resync: bool) -> dict:
    """op -> Ibis expression of the rows to send (key, identifier, fields..., hash, vendor_id,
    version).  ``latest``: per key the latest acknowledged operation (``SyncState.acknowledged``);
    ``version`` is its seq, so a change's message id is stable across replays yet new per change."""
    valid = audience.filter(audience.problem.isnull()).drop("problem")
    last = latest.rename(s_key="key", s_identifier="identifier", s_hash="hash", s_vendor_id="vendor_id",
                         s_op="op", s_version="version")
    held = last.filter(last.s_op != "remove")
    j = valid.left_join(last, valid.key == last.s_key)
    known = j.s_key.notnull() & (j.s_op != "remove")
    same_id = known & (j.s_identifier == j.identifier)
    changed = same_id if full_resync else same_id & (j.s_hash != j.hash)
    data_cols = list(valid.columns)
    new = j.filter(~same_id).select(*data_cols, vendor_id=ibis.null("string"), version=j.s_version)
    upd = j.filter(changed).select(*data_cols, vendor_id=j.s_vendor_id, version=j.s_version)
    if mode == "upsert":
        return {"upsert": new.union(upd)}
    ops = {"add": new, "update": upd}
    if full_resync:  # re-establish membership too: adds are idempotent
        ops = {"add": new.union(upd)}
    if mode == "mirror":
        gone = held.anti_join(valid, held.s_key == valid.key)
        moved = j.filter(known & (j.s_identifier != j.identifier))
        cols = dict(key="s_key", identifier="s_identifier", hash="s_hash", vendor_id="s_vendor_id",
                    version="s_version")
        ops["remove"] = gone.select(**cols).union(moved.select(**cols))
    return ops


def compute_diff(audience, acked, last_rejected, mode: str, full_resync: bool, *, snapshot: bool) -> Diff:
    """Run the diff: a few queries, each returning only the rows that change."""
    exprs = diff_expressions(audience, acked, mode, full_resync)
    out = Diff()
    for op, expr in exprs.items():
        out.ops[op] = run_query(expr.to_pyarrow, f"computing the {op} rows")
    out.rejected = run_query(audience.filter(audience.problem.notnull())
                             .select("key", "identifier", "problem").order_by("key").to_pyarrow,
                             "checking identifiers")
    out.acknowledged = int(run_query(acked.filter(acked.op != "remove").count().to_pyarrow, "counting the acknowledged audience").as_py())
    sent_keys = [ibis.memtable({"key": t["key"]}) for t in out.ops.values() if t.num_rows]
    if sent_keys:
        keys = sent_keys[0] if len(sent_keys) == 1 else ibis.union(*sent_keys, distinct=True)
        out.retried = int(run_query(keys.semi_join(last_rejected, "key").count().to_pyarrow,
                                    "counting retries").as_py())
    if snapshot:
        out.audience = run_query(audience.filter(audience.problem.isnull()).drop("problem", "hash")
                                 .order_by("key").to_pyarrow, "reading the audience")
    return out
