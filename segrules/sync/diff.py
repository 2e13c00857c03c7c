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


def diff_expression(audience, latest, mode: str, full_resync: bool):
    """ONE Ibis query: the audience fully outer-joined to ``latest`` (per key the latest
    acknowledged operation, ``SyncState.acknowledged``), keeping only rows that change, with flags
    ``is_new`` (send as add), ``changed`` (update) and ``gone`` (remove the held identifier).
    ``s_version`` is the acknowledged seq: a change's message id is stable across replays."""
    valid = audience.filter(audience.problem.isnull()).drop("problem")
    last = latest.rename(s_key="key", s_identifier="identifier", s_hash="hash", s_vendor_id="vendor_id",
                         s_op="op", s_version="version")
    j = valid.outer_join(last, valid.key == last.s_key)
    now = j.key.notnull()
    held = j.s_key.notnull() & (j.s_op != "remove")
    same_id = held & now & (j.s_identifier == j.identifier)
    changed = same_id if full_resync else same_id & (j.s_hash != j.hash)
    is_new = now & ~same_id
    gone = held & (~now | (j.s_identifier != j.identifier)) if mode == "mirror" else ibis.literal(False)
    j = j.mutate(is_new=is_new.fill_null(False), changed=changed.fill_null(False), gone=gone.fill_null(False))
    return j.filter(j.is_new | j.changed | j.gone)


def split_ops(table: pa.Table, data_cols: list[str], mode: str, full_resync: bool) -> dict[str, pa.Table]:
    """The one diff result split into op -> rows (key, identifier, fields..., hash, vendor_id, version)."""
    def rows(mask, vendor: bool) -> pa.Table:
        part = table.filter(mask)
        cols = {c: part[c] for c in data_cols}
        cols["vendor_id"] = part["s_vendor_id"] if vendor else pa.nulls(part.num_rows, pa.string())
        cols["version"] = part["s_version"]
        return pa.table(cols)

    new, changed = table["is_new"], table["changed"]
    if mode == "upsert":
        return {"upsert": pa.concat_tables([rows(new, False), rows(changed, True)])}
    ops = {"add": pa.concat_tables([rows(new, False), rows(changed, True)])} if full_resync else \
        {"add": rows(new, False), "update": rows(changed, True)}
    if mode == "mirror":
        part = table.filter(table["gone"])
        ops["remove"] = pa.table({"key": part["s_key"], "identifier": part["s_identifier"], "hash": part["s_hash"],
                                  "vendor_id": part["s_vendor_id"], "version": part["s_version"]})
    return ops


def compute_diff(audience, latest, last_rejected, mode: str, full_resync: bool, *, snapshot: bool) -> Diff:
    """Run the diff: one query returning only the rows that change, plus two counts."""
    data_cols = [c for c in audience.columns if c != "problem"]
    changes = run_query(diff_expression(audience, latest, mode, full_resync).to_pyarrow, "computing the changes")
    out = Diff(ops=split_ops(changes, data_cols, mode, full_resync))
    out.rejected = run_query(audience.filter(audience.problem.notnull())
                             .select("key", "identifier", "problem").order_by("key").to_pyarrow,
                             "checking identifiers")
    out.acknowledged = int(run_query(latest.filter(latest.op != "remove").count().to_pyarrow,
                                     "counting the acknowledged audience").as_py())
    keys = pa.concat_arrays([t["key"].combine_chunks() for t in out.ops.values()]) if out.ops else pa.array([], pa.string())
    if len(keys):
        out.retried = int(run_query(ibis.memtable({"key": keys}).distinct().semi_join(last_rejected, "key")
                                    .count().to_pyarrow, "counting retries").as_py())
    if snapshot:
        out.audience = run_query(audience.filter(audience.problem.isnull()).drop("problem", "hash")
                                 .order_by("key").to_pyarrow, "reading the audience")
    return out
