"""The service: ingest, evaluation and lookups over one spec on one database connection.

Every access to the main connection holds one lock (a DuckDB connection serves one statement at
a time). :meth:`Service.ingest` returns only after its rows and the keys they touch are
committed; evaluation runs on the worker thread (:meth:`start`), or when called
(:meth:`evaluate`, :meth:`step`) — tests drive it that way with their own clock. Lookups and
counts answer from the membership of the last committed evaluation held in memory
(:mod:`.members`): no database statement, no lock held during an evaluation.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa

from ..errors import BackendError, SpecError
from ..plugin.streams import OPS, Op
from .backends import refuse
from .evaluate import Change, Evaluator
from .entities import EntityWriter, check_entity_rows
from .ingest import RowProblem, RowsRejected, check_rows
from .members import MemberView
from .metrics import Metrics
from .store import Store
from .worker import Worker

log = logging.getLogger("segrules.serve")

DEFAULT_SWEEP_SECONDS = 300.0
RECENT_CHANGES = 100_000  # kept in memory for the change stream and the outlets


@dataclass(frozen=True)
class Ingested:
    source: str
    rows: int
    batch: int


class UnknownSource(SpecError):
    def __init__(self, source: str, known: list[str]):
        super().__init__(f"no source {source!r} in the spec (sources: {', '.join(known)})", code="SR901")


def serve_hash(spec: Any, params: dict[str, Any]) -> str:
    """What the stored membership was computed from: the spec's text and the parameter values."""
    text = spec.document.text + "\0" + json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Service:
    """Keeps ``spec``'s membership current in ``con``. ``clock()``: now as a naive wall-clock
    time in the spec's time zone (default: the system clock); ``sweep_every``: seconds between
    sweeps (None: never); ``reset``: drop the stored state first."""

    def __init__(self, spec: Any, con: Any, *, params: dict[str, Any] | None = None,
                 clock: Callable[[], datetime] | None = None, sweep_every: float | None = DEFAULT_SWEEP_SECONDS,
                 reset: bool = False):
        refuse(con.name)  # SR906: a Spark or warehouse connection
        self.spec, self.con = spec, con
        zone = ZoneInfo(spec.timezone)
        self.clock = clock or (lambda: datetime.now(zone).replace(tzinfo=None))
        self.sweep_every = sweep_every
        self.lock = threading.RLock()
        # Ingest likewise writes through a connection of its own on DuckDB, so a POST does not wait
        # for the evaluation in progress: appends never conflict, and an evaluation sees a batch
        # (its rows and its pending keys, one commit) whole or not at all.
        duckdb = con.name == "duckdb"
        self.ingest_con = ibis.duckdb.from_connection(con.con.cursor()) if duckdb else con
        self._ingest_lock = threading.Lock() if duckdb else self.lock
        self._schemas: dict[str, Any] = {}
        self.metrics = Metrics()
        m = spec.model
        self.key = m.entity.key
        key_type = con.table(m.entity.table).schema()[self.key]
        self.store = Store(con, spec.name, self.key, key_type)
        self.ingest_store = Store(self.ingest_con, spec.name, self.key, key_type)
        self.entities = EntityWriter(self.ingest_store, m.entity.table, self.key)
        values = spec.params(params)
        self.worker = Worker("segrules-serve", self.step, self._timeout, self._failed)
        self._retry = False  # the last round failed: try again in a second
        self.listeners: list[Callable[[list[Change]], None]] = []
        self._recent: list[Change] = []  # the latest committed changes (_remember)
        self._recent_lock = threading.Lock()
        self._pending_since: float | None = None  # monotonic time of the oldest unevaluated ingest
        self._last_sweep = time.monotonic()
        self.next_due: datetime | None = None
        self.pending = 0
        self._digest = serve_hash(spec, values)
        with self.lock:
            if reset:
                self.store.drop()
            self.store.create()
            self.entities.create()
            self.evaluator = Evaluator(spec, con, self.store, params)
            self.view = MemberView(self.evaluator.columns, self.evaluator.segments, list(m.features))
            self._open()

    def _open(self) -> None:
        """Create what is missing, check that the stored state is this spec's, and compute the
        first membership when there is none (every member enters)."""
        self.store.create(self.evaluator.members_schema())
        self._check_hash(self._digest)
        meta = self.store.meta()
        self.latest_seq = int(meta.get("change_seq", "0"))
        self._batch = int(self.store.table("batches").batch.max().to_pyarrow().as_py() or 0)
        self.view.load(self.store.fetch("members", lambda: self.store.table("members")), meta.get("now"))
        if "evaluation" not in meta:
            self.evaluate(sweep=True)
        self._refresh()

    def reset(self) -> None:
        """Drop the stored membership, change log and pending keys and start again from the
        tables as they are (what ``--reset`` does at start-up)."""
        with self.lock:
            self.store.drop()
            self.store.create()
            with self._recent_lock:
                self._recent = []
            self.evaluator.reload()
            self._open()

    def _check_hash(self, digest: str) -> None:
        stored = self.store.meta().get("spec_hash")
        if stored is None:
            with self.store.transaction():
                self.store.set_meta({"spec_hash": digest})
        elif stored != digest:
            raise BackendError(f"the service tables {self.store.prefix}* were built from another version of "
                               f"spec {self.spec.name!r} or other --param values", code="SR903",
                               hint="start with --reset to rebuild them (the change log starts again)")

    # -- ingest ---------------------------------------------------------------------------
    def sources(self) -> dict[str, tuple[str, str]]:
        """Ingestible names -> (table, key column): the spec's sources and its entity table."""
        m = self.spec.model
        found = {name: (s.table, s.key) for name, s in m.sources.items()}
        found.setdefault(m.entity.table, (m.entity.table, self.key))
        return found

    def ingest(self, source: str, rows: Any, *, op: Op = "append",
               also: Callable[[Any, int], None] | None = None) -> Ingested:
        """Append ``rows`` (JSON row objects) to ``source``'s table, durably, with the keys they
        touch marked pending; all or nothing (:class:`RowsRejected`, SR902). ``op``: ``upsert``
        or ``delete`` by key, for the entity table (:mod:`.entities`; a delete's rows: keys).
        ``also(connection, batch)`` writes more in the same transaction (a stream's offsets)."""
        sources = self.sources()
        if source not in sources:
            raise UnknownSource(source, list(sources))
        table, key = sources[source]
        entity = table == self.spec.model.entity.table
        if op not in OPS:  # a stream record's op comes from a plugin
            raise RowsRejected(source, [RowProblem(None, None, f"op {op!r}: expected one of {', '.join(OPS)}")])
        if op != "append" and not entity:
            raise RowsRejected(source, [RowProblem(None, None, f"rows of a source are only appended; "
                                                   f"upserts and deletes are for the entity table "
                                                   f"{self.spec.model.entity.table}")])
        with self._ingest_lock:
            if table not in self._schemas:
                self._schemas[table] = self.ingest_con.table(table).schema()
            if op == "append":
                arrow = check_rows(source, rows, self._schemas[table], (key,), self.spec.timezone)
                if entity:
                    self._new_entities(source, arrow)
            else:
                arrow = check_entity_rows(source, rows, self._schemas[table], key, self.spec.timezone, op)
            batch = self._batch + 1
            keys = arrow[key].cast(self.store.key_type.to_pyarrow())
            log_row = pa.table({"batch": [batch], "source": [source], "rows": [arrow.num_rows],
                                "at": pa.array([datetime.now(timezone.utc).replace(tzinfo=None)], pa.timestamp("us"))})
            with self.ingest_store.transaction():
                if op == "append":
                    self.ingest_store.append(table, arrow)
                else:
                    self.entities.write(op, arrow)
                self.ingest_store.insert("pending", pa.table({self.key: keys,
                                                              "batch": pa.array([batch] * len(keys), pa.int64())}))
                self.ingest_store.insert("batches", log_row)
                if also is not None:
                    also(self.ingest_con, batch)
            self._batch = batch
            self.evaluator.appended(table, arrow, batch)  # after the commit, in batch order
        self.metrics.ingested(source, arrow.num_rows)
        self._pending_since = self._pending_since or time.monotonic()
        self.worker.wake()
        return Ingested(source, arrow.num_rows, batch)

    def ingest_side(self, write: Callable[[Any], None]) -> None:
        """``write(connection)`` in one transaction of the ingest path, in turn with the ingests
        (a stream's offsets past a rejected batch)."""
        with self._ingest_lock, self.ingest_store.transaction():
            write(self.ingest_con)

    def _new_entities(self, source: str, arrow: pa.Table) -> None:
        """An entity row may be added once: a second row for a key would double it in every run."""
        keys = arrow[self.key].to_pylist()
        problems = [RowProblem(i, self.key, f"{k!r} appears twice in the batch")
                    for i, k in enumerate(keys) if k in keys[:i]]
        table = self.ingest_con.table(self.spec.model.entity.table)
        existing = set(table.filter(table[self.key].isin(list(set(keys))))[self.key].to_pyarrow().to_pylist())
        problems += [RowProblem(i, self.key, f"{k!r} already exists") for i, k in enumerate(keys) if k in existing]
        if problems:
            raise RowsRejected(source, problems)

    # -- evaluation -----------------------------------------------------------------------
    def evaluate(self, now: datetime | None = None, *, sweep: bool = False) -> list[Change]:
        """Evaluate the pending and due entities (every entity for a sweep) at ``now`` (default:
        the clock) and record their changes; returns them."""
        started = time.perf_counter()
        with self.lock:
            now = now or self.clock()
            with self.store.transaction():
                changes = self.evaluator.run(now, sweep=sweep)
            self.view.apply(*self.evaluator.written, now.isoformat())  # committed: lookups see it
            if sweep:
                self._last_sweep = time.monotonic()
            if changes:
                self._remember(changes)
                self.latest_seq = changes[-1].seq
            self._refresh()
        since, self._pending_since = self._pending_since, None
        self.metrics.evaluated(time.perf_counter() - started, changes, since)
        for listener in list(self.listeners):
            listener(changes)
        return changes

    def _refresh(self) -> None:
        """The next due time and whether keys are pending, from the database."""
        state = self.store.fetch("state", self._state).to_pylist()[0]
        self.next_due = state["next_due"]
        self.pending = int(state["pending"])
        self.metrics.pending.set(self.pending)

    def _state(self) -> Any:
        """One row: the next due time and the number of pending keys."""
        due, pending = self.store.table("due"), self.store.table("pending")
        return due.aggregate(next_due=due.due_at.min()).cross_join(pending.aggregate(pending=pending.count()))

    def step(self) -> list[Change]:
        """What the worker does when woken: a sweep when one is due, else an evaluation when
        keys are pending or an entity's change time has come; nothing otherwise."""
        self._retry = False
        with self.lock:
            self._refresh()
            now = self.clock()
            if self.sweep_every is not None and time.monotonic() - self._last_sweep >= self.sweep_every:
                return self.evaluate(now, sweep=True)
            if self.pending or (self.next_due is not None and self.next_due <= now):
                return self.evaluate(now)
        return []

    # -- the worker -----------------------------------------------------------------------
    def start(self) -> None:
        """Evaluate in the background: after each ingest, at the next change time, at each sweep."""
        self.worker.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the worker after the evaluation in progress (graceful shutdown)."""
        self.worker.stop(timeout)

    def _timeout(self) -> float:
        waits = [1.0]
        if self.next_due is not None and not self._retry:
            waits.append((self.next_due - self.clock()).total_seconds())
        if self.sweep_every is not None:
            waits.append(self.sweep_every - (time.monotonic() - self._last_sweep))
        return min(waits)

    def _failed(self, exc: Exception) -> None:
        """The pending keys stay pending (nothing of the evaluation was committed): retried."""
        self._retry = True
        self.metrics.errors.inc()
        log.error("evaluation failed: %s: %s", type(exc).__name__, exc)

    @property
    def ready(self) -> bool:
        return self.worker.running

    # -- lookups --------------------------------------------------------------------------
    def parse_key(self, text: str) -> Any:
        kind = self.store.key_type
        if kind.is_integer():
            try:
                return int(text)
            except ValueError:
                raise SpecError(f"{text!r} is not a key of {self.spec.name} ({kind})", code="SR904") from None
        return text

    @property
    def as_of(self) -> str | None:
        """The ``now`` of the last committed evaluation (ISO), what lookups answer as of."""
        return self.view.as_of

    def member(self, key: Any) -> dict[str, Any] | None:
        """The entity's segments and features as of the last committed evaluation (``as_of``),
        or None if it is not in the universe: from memory, microseconds, callable from the
        event loop."""
        return self.view.member(key)

    def count(self, segment: str) -> int:
        """The members of ``segment`` as of the last committed evaluation (from memory)."""
        if segment not in self.evaluator.segments:
            raise SpecError(f"no segment {segment!r} in spec {self.spec.name}", code="SR304")
        return self.view.count(segment)

    def _remember(self, changes: list[Change]) -> None:
        """Keep the latest committed changes in memory (``seq`` consecutive): the change stream
        and the outlets read them without waiting for the evaluation in progress."""
        for change in changes:
            change.event  # noqa: B018 (encoded here, on the evaluation thread)
        with self._recent_lock:
            if self._recent and self._recent[-1].seq + 1 != changes[0].seq:
                self._recent = []
            self._recent.extend(changes)
            if len(self._recent) > 2 * RECENT_CHANGES:
                self._recent = self._recent[-RECENT_CHANGES:]

    def changes(self, after: int = 0, limit: int = 1000) -> list[Change]:
        """The recorded changes with ``seq`` > ``after``, oldest first."""
        with self._recent_lock:
            if self._recent and self._recent[0].seq <= after + 1:
                start = after + 1 - self._recent[0].seq
                return self._recent[start:start + limit]
        with self.lock:
            t = self.store.table("changes")
            rows = t.filter(t.seq > ibis.literal(after, "int64")).order_by("seq").limit(limit).to_pyarrow().to_pylist()
        return [Change(r["seq"], r["change_id"], r["evaluation"], r["at"], r["key"], r["segment"], r["kind"])
                for r in rows]
