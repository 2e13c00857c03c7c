"""Sync state, run log and changelog in the state store (``segrules.state``).

Two append-only tables, written only through Ibis inserts (one statement each, so each batch's
acknowledgements land atomically or not at all):

* ``sync_changes`` — one row per row-level operation per run: op (add, update, remove, upsert),
  status (:class:`~segrules.statuses.RowStatus`: ``ok`` = acknowledged by the destination,
  ``rejected`` = refused, with the reason), key,
  identifier, hash of the synced fields and the vendor's record id.  The acknowledged state of a
  sync is, per key, its latest ``ok`` row unless that row is a remove.
* ``sync_runs`` — a row when a sync starts (status ``running``) and one when it ends (``ok``,
  ``failed``...: a :class:`~segrules.statuses.SyncStatus`) with the counts; the latest row per (run, sync) is the run's record.  A run
  whose record is still ``running`` when a later run of the same sync has started is shown as
  ``interrupted`` (the process was killed or crashed).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

import ibis
import pyarrow as pa

from ..errors import BackendError
from ..state import StateStore
from ..statuses import RowStatus, SyncStatus

CHANGES, RUNS = "sync_changes", "sync_runs"

CHANGES_SCHEMA = ibis.schema({
    "seq": "int64", "run_id": "string", "sync": "string", "op": "string", "status": "string",
    "key": "string", "identifier": "string", "hash": "string", "vendor_id": "string", "reason": "string",
    "at": "timestamp",
})
COUNTS = ("added", "removed", "updated", "rejected", "retried")
RUNS_SCHEMA = ibis.schema({
    "seq": "int64", "run_id": "string", "sync": "string", "destination": "string", "mode": "string",
    "started_at": "timestamp", "ended_at": "timestamp", "status": "string",
    **{c: "int64" for c in COUNTS}, "error": "string",
})


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class SyncState:
    """The sync tables of one state store."""

    def __init__(self, store: StateStore):
        self.store = store
        self._seq = 0

    def _call(self, fn, what: str):
        try:
            return fn()
        except Exception as exc:  # backend errors come in many types
            raise BackendError(f"state store {self.store.location}: {what} failed: "
                               f"{type(exc).__name__}: {exc}", code="SR770") from None

    def ensure(self) -> None:
        """Create the sync tables if the store does not have them yet."""
        existing = set(self.store.tables())
        for name, schema in ((CHANGES, CHANGES_SCHEMA), (RUNS, RUNS_SCHEMA)):
            if name not in existing:
                self._call(lambda: self.store.create(name, schema), f"creating {name}")
            else:
                have = self.store.table(name).schema()
                missing = [c for c in schema.names if c not in have.names]
                if missing:
                    raise BackendError(f"state store {self.store.location}: table {name} lacks columns "
                                       f"{', '.join(missing)}; it was not made by this segrules", code="SR771")
        self._seq = max(self._seq, self._stored_max_seq())

    def next_seq(self) -> int:
        """Increasing within a sync: the clock in nanoseconds, but always above the largest seq
        already stored (read by ``ensure``, under the syncs' locks), so a clock set back between
        two runs cannot order a later write before an earlier one."""
        self._seq = max(self._seq + 1, time.time_ns())
        return self._seq

    def _stored_max_seq(self) -> int:
        values = [self._call(lambda: self.store.table(name).seq.max().to_pyarrow().as_py(), f"reading {name}")
                  for name in (CHANGES, RUNS)]
        return max(int(v or 0) for v in values)

    def _insert(self, name: str, table: pa.Table) -> None:
        if table.num_rows:
            self._call(lambda: self.store.con.insert(name, ibis.memtable(table), database=self.store.schema),
                       f"writing {name}")

    # -- reading -----------------------------------------------------------------------
    def _latest(self, sync: str, ok_only: bool):
        t = self.store.table(CHANGES)
        t = t.filter(t.sync == sync)
        if ok_only:
            t = t.filter(t.status == RowStatus.OK)
        rank = ibis.row_number().over(ibis.window(group_by=t.key, order_by=ibis.desc(t.seq)))
        return t.mutate(_rank=rank).filter(lambda r: r._rank == 0)

    def acknowledged(self, sync: str):
        """Per key, the latest acknowledged operation: key, identifier, hash, vendor_id, op and
        ``version`` (its seq).  The destination holds the rows whose op is not ``remove``."""
        t = self._latest(sync, ok_only=True)
        return t.select("key", "identifier", "hash", "vendor_id", "op", version="seq")

    def last_rejected(self, sync: str):
        """Keys whose latest operation was rejected (sending them again is a retry)."""
        t = self._latest(sync, ok_only=False)
        return t.filter(t.status == RowStatus.REJECTED).select("key")

    def stage(self, name: str, obj):
        """``obj`` (an Ibis expression or Arrow table) as a temporary table of the store's
        connection, so the diff's queries read it once instead of recomputing or re-uploading it."""
        table = f"_segrules_sync_{name}"
        self._call(lambda: self.store.con.create_table(table, obj, temp=True, overwrite=True), f"staging {name}")
        return self.store.con.table(table)

    # -- writing -----------------------------------------------------------------------
    def record(self, run_id: str, sync: str, op: str, rows: list[dict]) -> None:
        """Append row outcomes at once: dicts with key, identifier, hash, vendor_id, status, reason."""
        seq, at = self.next_seq(), now()
        cols = {c: [r.get(c) for r in rows] for c in ("key", "identifier", "hash", "vendor_id", "status", "reason")}
        n = len(rows)
        table = pa.table({"seq": [seq] * n, "run_id": [run_id] * n, "sync": [sync] * n, "op": [op] * n,
                          "status": cols["status"], "key": cols["key"], "identifier": cols["identifier"],
                          "hash": cols["hash"], "vendor_id": cols["vendor_id"], "reason": cols["reason"],
                          "at": [at] * n}, schema=CHANGES_SCHEMA.to_pyarrow())
        self._insert(CHANGES, table)

    def log_run(self, run_id: str, sync: str, destination: str, mode: str, started_at: datetime,
                status: SyncStatus, counts: dict[str, int] | None = None, error: str | None = None,
                ended_at: datetime | None = None) -> None:
        counts = counts or {}
        row = {"seq": self.next_seq(), "run_id": run_id, "sync": sync, "destination": destination, "mode": mode,
               "started_at": started_at, "ended_at": ended_at, "status": status,
               **{c: int(counts.get(c, 0)) for c in COUNTS}, "error": error}
        self._insert(RUNS, pa.Table.from_pylist([row], schema=RUNS_SCHEMA.to_pyarrow()))

    # -- the run log -------------------------------------------------------------------
    def runs(self, sync: str | None = None, limit: int | None = 20) -> pa.Table:
        """Latest record of each (run, sync), newest first."""
        if not self.store.has_table(RUNS):
            return pa.table({c: pa.array([], t.to_pyarrow()) for c, t in RUNS_SCHEMA.items()}).drop(["seq"])
        t = self.store.table(RUNS)
        if sync:
            t = t.filter(t.sync == sync)
        rank = ibis.row_number().over(ibis.window(group_by=[t.run_id, t.sync], order_by=ibis.desc(t.seq)))
        t = t.mutate(_rank=rank).filter(lambda r: r._rank == 0)
        # A run still "running" when a later run of the same sync started was killed or crashed.
        later = t.seq.lead().over(ibis.window(group_by=t.sync, order_by=t.seq))
        t = t.mutate(status=((t.status == SyncStatus.RUNNING) & later.notnull()).ifelse(SyncStatus.INTERRUPTED, t.status))
        t = t.order_by(ibis.desc("started_at"), "sync").drop("_rank", "seq")
        return self._call(lambda: (t.limit(limit) if limit else t).to_pyarrow(), "reading sync_runs")

    def resolve_run(self, run_id: str, sync: str | None = None) -> None:
        """SR774 unless ``run_id`` (or a prefix of it) names exactly one recorded run (of ``sync``)."""
        t = self.store.table(RUNS)
        t = t.filter(t.run_id.startswith(run_id))
        if sync:
            t = t.filter(t.sync == sync)
        found = sorted(set(self._call(lambda: t.run_id.to_pyarrow().to_pylist(), "reading sync_runs")))
        if len(found) != 1:
            recent = self.runs(sync, limit=5)["run_id"].to_pylist()
            what = "no sync run" if not found else f"{len(found)} sync runs"
            raise BackendError(f"{what}{f' of sync {sync!r}' if sync else ''} matches {run_id!r}", code="SR774",
                               hint=("recent runs: " + ", ".join(dict.fromkeys(recent))) if recent
                               else "the state store has no runs of this sync")

    def changes(self, run_id: str, sync: str | None = None, limit: int | None = None) -> pa.Table:
        """The row-level changelog of a run (a prefix of the run id is enough)."""
        t = self.store.table(CHANGES)
        t = t.filter(t.run_id.startswith(run_id))
        if sync:
            t = t.filter(t.sync == sync)
        t = t.order_by("seq", "key").drop("seq")
        return self._call(lambda: (t.limit(limit) if limit else t).to_pyarrow(), "reading sync_changes")
