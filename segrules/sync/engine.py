"""The sync engine: audience -> diff against acknowledged state -> guarded, batched, concurrent
delivery -> state advanced per acknowledged row -> run log.

Crash safety: state is only written after the destination answered, one insert per batch, so a
process killed at any moment leaves state that under-claims (never over-claims) what the
destination holds; the next run sends the difference again, and every destination call is chosen
to be harmless when replayed.

On top of that, for every destination: a batch refused whole is bisected (:mod:`.bisect`); the
run's retry budget, once spent, ends the sync ``partial`` with what was acknowledged kept
(:mod:`.budget`); rows refused ``dead_after`` runs in a row are parked until ``--retry-dead``
(:mod:`.dead`); every text shown or stored is scrubbed of the secrets in all their forms
(:mod:`.secrets`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Protocol

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SegrulesError
from ..run.execute import run_query
from ..plugin.destinations import OPS, BatchResult, RetryBudgetSpent, Row, SyncContext
from ..statuses import RowStatus, SyncStatus
from .audience import evaluate_audiences, field_columns, json_value, sync_audience
from .batching import split_batches
from .bisect import deliver
from .config import PlannedSync
from .dead import park_dead
from .diff import Diff, compute_diff
from .secrets import Scrubber
from .state import SyncState, now

SAMPLE_ROWS = 5


class Progress(Protocol):
    def start(self, sync: str, total: int) -> None: ...
    def advance(self, sync: str, rows: int) -> None: ...


class _Quiet:
    def start(self, sync, total):
        pass

    def advance(self, sync, rows):
        pass


@dataclass
class Outcome:
    """What happened to one sync in a run."""

    sync: str
    destination: str
    mode: str
    counts: dict[str, int] = field(default_factory=dict)
    status: SyncStatus = SyncStatus.PENDING
    error: str | None = None
    samples: dict[str, list[dict]] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)  # rejection reason -> rows
    requests: int = 0  # destination calls (``send``), bisection included
    parked: int = 0  # dead rows left out (segrules.sync.dead)
    unacknowledged: int = 0  # rows sent whose answer did not vouch for them (sent again next run)


def message_id(sync: str, op: str, key: str, digest: str | None, version: int | None) -> str:
    """Deterministic per change: the same sync, op, key, values and acknowledged version (the
    state the change starts from) give the same id, so a replay carries the id of the original."""
    text = f"{sync}\x1f{op}\x1f{key}\x1f{digest or ''}\x1f{version if version is not None else ''}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _first_keys(table: pa.Table, n: int) -> pa.Table:
    """The rows of the ``n`` smallest keys, in key order: samples that are the same on every run
    (the diff query's row order is not), ordered as the rejected samples are."""
    picked = pc.select_k_unstable(table, n, [("key", "ascending")])
    return table.take(picked).sort_by("key")


def _rows(table: pa.Table, planned: PlannedSync, op: str) -> list[Row]:
    cols = field_columns(planned)
    data = table.to_pydict()
    n = table.num_rows
    hashes = data.get("hash", [None] * n)
    versions = data.get("version", [None] * n)
    out = []
    for i in range(n):
        fields = {} if op == "remove" else {name: json_value(data[c][i]) for name, c in cols.items()}
        out.append(Row(data["key"][i], data["identifier"][i], fields, data["vendor_id"][i],
                       message_id(planned.name, op, data["key"][i], hashes[i], versions[i])))
    return out


def _counts(diff: Diff) -> dict[str, int]:
    return {"added": diff.count("add"), "removed": diff.count("remove"),
            "updated": diff.count("update") + diff.count("upsert"),
            "rejected": diff.rejected.num_rows if diff.rejected is not None else 0, "retried": diff.retried}


class SyncRun:
    """One ``segrules sync``: plan every selected sync, check guards, then deliver."""

    def __init__(self, spec, con, store, planned: list[PlannedSync], *, as_of, params=None,
                 full_resync: bool = False, retry_dead: bool = False, progress: Progress | None = None):
        self.spec, self.con, self.planned = spec, con, planned
        self.state = SyncState(store)
        self.as_of, self.params, self.full_resync, self.retry_dead = as_of, params, full_resync, retry_dead
        self.scrubber = Scrubber([s for p in planned for s in p.secrets])
        self.progress = progress or _Quiet()
        self.run_id = uuid.uuid4().hex[:16]
        self.diffs: dict[str, Diff] = {}

    def scrub(self, text: str) -> str:
        """``text`` without any secret of the run, in any form (raw, URL-encoded, base64)."""
        return self.scrubber.scrub(text)

    def plan(self) -> list[Outcome]:
        """Compute every sync's diff; sends nothing."""
        self.state.ensure()
        members = evaluate_audiences(self.spec, self.con, self.planned, as_of=self.as_of, params=self.params)
        table = ibis.memtable(members)
        outcomes = []
        for p in self.planned:
            # identifier checks and field hashes run in embedded DuckDB (the same hash function
            # whatever backend holds the state); the diff then runs in the state store's database,
            # a warehouse getting the audience uploaded once as a temporary table
            checked = run_query(sync_audience(table, p, self.spec.key).to_pyarrow, "checking the audience")
            audience = self.state.stage("audience", checked) if self.state.store.schema else ibis.memtable(checked)
            diff = compute_diff(audience, self.state.acknowledged(p.name), self.state.last_rejected(p.name),
                                p.sync.mode, self.full_resync, snapshot=p.definition.snapshot)
            parked = 0 if self.retry_dead or p.sync.dead_after is None else \
                park_dead(diff, self.state, p.name, p.sync.dead_after)
            diff.retried -= parked  # parked rows were last rejected: counted as retries, but not sent
            self.diffs[p.name] = diff
            outcome = Outcome(p.name, p.destination, p.sync.mode, _counts(diff), parked=parked)
            for op, t in diff.ops.items():
                if t.num_rows:
                    outcome.samples[op] = _rows(_first_keys(t, SAMPLE_ROWS), p, op)
            if diff.rejected.num_rows:
                outcome.samples["rejected"] = diff.rejected.slice(0, SAMPLE_ROWS).to_pylist()
                for reason in diff.rejected["problem"].to_pylist():
                    outcome.reasons[reason] = outcome.reasons.get(reason, 0) + 1
            limit = p.sync.removal_limit(diff.acknowledged)
            if limit is not None and diff.count("remove") > limit:
                outcome.status = SyncStatus.REFUSED
                outcome.error = (f"would remove {diff.count('remove'):,} of {diff.acknowledged:,} acknowledged "
                                 f"members; max_removals is {p.sync.max_removals}")
            outcomes.append(outcome)
        return outcomes

    def deliver(self, outcomes: list[Outcome]) -> list[Outcome]:
        """Send every planned sync (call after :meth:`plan`, only when no sync was refused)."""
        for p, outcome in zip(self.planned, outcomes):
            self._deliver_one(p, outcome)
        return outcomes

    def _deliver_one(self, p: PlannedSync, outcome: Outcome) -> None:
        diff = self.diffs[p.name]
        started = now()
        st = self.state
        st.log_run(self.run_id, p.name, p.destination, p.sync.mode, started, SyncStatus.RUNNING)
        if diff.rejected.num_rows:
            st.record(self.run_id, p.name, "add", [
                {"key": r["key"], "identifier": r["identifier"], "status": RowStatus.REJECTED, "reason": r["problem"]}
                for r in diff.rejected.to_pylist()])
        total = sum(t.num_rows for t in diff.ops.values())
        outcome.counts.update(added=0, removed=0, updated=0)  # from here on: what was acknowledged
        self.progress.start(p.name, total)
        client = None
        try:
            ctx = SyncContext(p.name, p.destination, p.sync.mode, p.sync.identifier_kind, p.fields,
                              segment=p.sync.segment, full_resync=self.full_resync)
            client = p.definition.open(p.options, ctx)
            if p.definition.snapshot:
                self._snapshot(p, client, diff, outcome)
            else:
                for op in OPS:
                    table = diff.ops.get(op)
                    if table is not None and table.num_rows:
                        self._send(p, client, op, _rows(table, p, op), outcome)
                if hasattr(client, "finish"):  # e.g. close a vendor's upload session
                    client.finish()
            unvouched = outcome.unacknowledged
            if unvouched:
                outcome.error = (f"{unvouched:,} rows sent but not acknowledged (the destination's answer did "
                                 "not vouch for them); the next run sends them again")
            outcome.status = SyncStatus.PARTIAL if outcome.counts["rejected"] or unvouched else SyncStatus.OK
        except RetryBudgetSpent as exc:  # what was acknowledged is kept; the next run sends the rest
            outcome.status, outcome.error = SyncStatus.PARTIAL, self.scrub(str(exc))
        except SegrulesError as exc:
            outcome.status, outcome.error = SyncStatus.FAILED, self.scrub(str(exc))
        except Exception as exc:  # a destination plugin's bug: fail this sync, keep the others
            outcome.status = SyncStatus.FAILED
            outcome.error = self.scrub(f"destination {p.definition.name} crashed: {type(exc).__name__}: {exc}")
        finally:
            if client is not None:
                client.close()
            st.log_run(self.run_id, p.name, p.destination, p.sync.mode, started, outcome.status,
                       outcome.counts, outcome.error, ended_at=now())

    def _acknowledge(self, p, op, rows: list[Row], result: BatchResult, outcome: Outcome, hashes) -> None:
        records = []
        for row in rows:
            if row.key in result.ok:
                records.append({"key": row.key, "identifier": row.identifier, "hash": hashes.get(row.key),
                                "vendor_id": result.ok[row.key] or row.vendor_id, "status": RowStatus.OK})
            elif row.key in result.rejected:
                reason = self.scrub(str(result.rejected[row.key]))
                records.append({"key": row.key, "identifier": row.identifier, "hash": hashes.get(row.key),
                                "status": RowStatus.REJECTED, "reason": reason})
                outcome.reasons[reason] = outcome.reasons.get(reason, 0) + 1
        self.state.record(self.run_id, p.name, op, records)
        accepted = sum(r["status"] is RowStatus.OK for r in records)
        outcome.counts[{"add": "added", "remove": "removed"}.get(op, "updated")] += accepted
        outcome.counts["rejected"] += len(records) - accepted

    def _send(self, p: PlannedSync, client, op: str, rows: list[Row], outcome: Outcome) -> None:
        table = self.diffs[p.name].ops[op]
        hashes = dict(zip(table["key"].to_pylist(), table["hash"].to_pylist()))
        limits = client.limits_for(op) if hasattr(client, "limits_for") else client.limits
        batches, too_large = split_batches(rows, limits)
        if too_large:
            self._acknowledge(p, op, [r for r, _ in too_large],
                              BatchResult(rejected={r.key: why for r, why in too_large}), outcome, hashes)
        failure: BaseException | None = None
        with ThreadPoolExecutor(max_workers=max(1, limits.concurrency)) as pool:
            pending = {}
            queue = deque(batches)
            while queue or pending:
                while queue and failure is None and len(pending) < max(1, limits.concurrency):
                    batch = queue.popleft()
                    pending[pool.submit(deliver, client.send, op, batch)] = batch
                if not pending:
                    break
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    batch = pending.pop(future)
                    delivery = future.result()
                    outcome.requests += delivery.requests
                    for part, result in delivery.parts:  # acknowledged even when a failure followed
                        self._acknowledge(p, op, part, result, outcome, hashes)
                    if delivery.error is not None:
                        failure = failure or delivery.error
                    else:  # rows no answer vouched for: sent again next run, and said so
                        answered = {k for _, r in delivery.parts for k in (*r.ok, *r.rejected)}
                        outcome.unacknowledged += sum(row.key not in answered for row in batch)
                    self.progress.advance(p.name, len(batch))
        if failure is not None:
            raise failure

    def _snapshot(self, p: PlannedSync, client, diff: Diff, outcome: Outcome) -> None:
        cols = field_columns(p)
        audience = diff.audience.rename_columns(
            [{v: k for k, v in cols.items()}.get(c, c) for c in diff.audience.column_names])
        changes = []
        for op in OPS:
            t = diff.ops.get(op)
            if t is not None and t.num_rows:
                changes += [{"op": op, "key": r.key, "identifier": r.identifier, **r.fields} for r in _rows(t, p, op)]
        client.write_snapshot(audience, pa.Table.from_pylist(changes) if changes else
                              pa.table({"op": pa.array([], pa.string()), "key": pa.array([], pa.string()),
                                        "identifier": pa.array([], pa.string())}))
        for op in OPS:
            t = diff.ops.get(op)
            if t is not None and t.num_rows:
                rows = _rows(t, p, op)
                self._acknowledge(p, op, rows, BatchResult.all_ok(rows), outcome,
                                  dict(zip(t["key"].to_pylist(), t["hash"].to_pylist())))
                self.progress.advance(p.name, len(rows))
