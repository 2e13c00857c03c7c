"""A stream source (``register_stream_sources``: Kafka, Kinesis, a queue) feeding the service's
ingest path — the same checks, tables and pending keys as ``POST``.

Invariant: a record's offset is written in the same transaction as its row (the table
``serve_<spec>_stream_offsets``, one row per partition and batch). So the tables say exactly which
records they hold; after a crash at any point a restart opens the consumer at the stored offsets
(``StreamContext.resume``) and drops any record at or below them that the consumer delivers again:
no record is lost and none is appended twice. ``commit`` moves the consumer's own position after
the commit (advisory: a consumer killed before it is told re-delivers, and the service drops).

A record the ingest rejects (SR902: a bad row, or a source the spec does not have) is not
appended: its offset is stored with its problems (column ``rejected``, JSON) in the transaction
that appends the good records of its run, so the stream moves on and the refused records stay
findable by partition and offset (``segrules_serve_stream_rejected_total``).

The table gains a row per partition and run; each start keeps the last one per partition (and
every rejection). Records are ingested in poll order, as runs of consecutive records for the same source and op;
a run's offsets are stored with it, so everything before a stored offset is stored too.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa
import sqlglot as sg

from ..plugin.streams import StreamConsumer, StreamContext, StreamRecord, StreamSourceDef
from .ingest import RowProblem, RowsRejected
from .service import Service, UnknownSource
from .worker import Worker

log = logging.getLogger("segrules.serve")

OFFSETS_SCHEMA = ibis.schema({"stream": "string", "partition": "string", "offset": "string", "batch": "int64",
                              "rejected": "string"})
MAX_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class Run:
    """Consecutive records of one source and op."""

    source: str
    op: str
    records: list[StreamRecord]

    @property
    def offsets(self) -> dict[str, int]:
        """The last offset of each partition in the run."""
        return {r.partition: r.offset for r in self.records}


def runs(records: list[StreamRecord]) -> list[Run]:
    out: list[Run] = []
    for r in records:
        if not out or (out[-1].source, out[-1].op) != (r.source, r.op):
            out.append(Run(r.source, r.op, []))
        out[-1].records.append(r)
    return out


class StreamFeeder:
    """Polls ``definition``'s consumer (opened with ``options``) on a thread of its own and feeds
    ``service.ingest``; ``name`` tells its offsets from another stream's (default: the type's)."""

    def __init__(self, service: Service, definition: StreamSourceDef, options: dict[str, str] | None = None, *,
                 name: str | None = None, max_records: int = 5000, poll_timeout: float = 1.0):
        self.service, self.definition = service, definition
        self.name = name or definition.name
        self.max_records, self.poll_timeout = max_records, poll_timeout
        self.table = service.store.name("stream_offsets")
        con = service.ingest_con
        if self.table not in con.list_tables():
            con.create_table(self.table, schema=OFFSETS_SCHEMA)
        self.options = dict(options or {})
        service.ingest_side(self._compact)
        self.stored = self._stored()
        self.consumer: StreamConsumer | None = None
        self._open()
        self.failures = 0
        self.rejected = service.metrics.stream_rejected
        self.worker = Worker(f"segrules-serve-stream-{self.name}", self.feed, self._timeout, self._failed)

    def _open(self) -> StreamConsumer:
        """The consumer, opened at the stored offsets."""
        if self.consumer is None:
            context = StreamContext(self.service.spec.name, tuple(self.service.sources()), dict(self.options),
                                    dict(self.stored))
            self.consumer = self.definition.open(context)
        return self.consumer

    def _compact(self, con: Any) -> None:
        """Keep one appended-offsets row per stream and partition, the last (the table gains one
        per run); the rejections stay. One transaction: a kill leaves the old rows or the new."""
        t = con.table(self.table)
        rows = t.filter(t.rejected.isnull()).to_pyarrow().to_pylist()
        last: dict[tuple[str, str], dict[str, Any]] = {}
        for r in rows:
            k = (r["stream"], r["partition"])
            if k not in last or int(r["offset"]) > int(last[k]["offset"]):
                last[k] = r
        if len(last) == len(rows):
            return
        table = sg.table(self.table, quoted=True)
        self.service.ingest_store.execute(sg.delete(table, where=sg.column("rejected", quoted=True).is_(sg.exp.null())))
        con.insert(self.table, pa.Table.from_pylist(list(last.values()), schema=OFFSETS_SCHEMA.to_pyarrow()))

    def _stored(self) -> dict[str, int]:
        """Per partition, the last offset stored (appended or rejected)."""
        t = self.service.ingest_con.table(self.table)
        rows = t.filter(t.stream == ibis.literal(self.name)).select("partition", "offset").to_pyarrow().to_pylist()
        last: dict[str, int] = {}
        for r in rows:
            last[r["partition"]] = max(last.get(r["partition"], -1), int(r["offset"]))
        return last

    def _offsets_rows(self, offsets: dict[str, int], batch: int, rejected: list[str | None]) -> pa.Table:
        return pa.table({"stream": [self.name] * len(offsets), "partition": list(offsets),
                         "offset": [str(o) for o in offsets.values()], "batch": [batch] * len(offsets),
                         "rejected": pa.array(rejected, pa.string())}, schema=OFFSETS_SCHEMA.to_pyarrow())

    def feed(self) -> int:
        """One poll: its new records ingested, their offsets stored, then committed to the
        consumer. Returns the number of records appended (rejected and re-delivered ones not)."""
        consumer = self._open()
        records = consumer.poll(self.max_records, self.poll_timeout)
        fresh = [r for r in records if r.offset > self.stored.get(r.partition, -1)]
        appended = sum(self._ingest(run) for run in runs(fresh))
        if records:
            consumer.commit({p: self.stored[p] for p in dict.fromkeys(r.partition for r in records)})
        self.failures = 0
        return appended

    def _ingest(self, run: Run) -> int:
        """The run's records, but those the ingest rejects (each stored with its problems, in the
        same transaction); a problem of the whole batch rejects every record."""
        good, bad = list(run.records), []
        for _attempt in range(3):  # taking a bad row out may expose another (a key twice)
            def store_offsets(con: Any, batch: int) -> None:
                rows = self._offsets_rows(run.offsets, batch, [None] * len(run.offsets))
                con.insert(self.table, pa.concat_tables([rows, *[self._rejection(r, ps) for r, ps in bad]]))
            if not good:
                break
            try:
                done = self.service.ingest(run.source, [r.row for r in good], op=run.op,  # type: ignore[arg-type]
                                           also=store_offsets)
                self._rejected(run, bad)
                self.stored.update(run.offsets)
                return done.rows
            except UnknownSource as exc:
                problem = RowProblem(None, None, exc.diagnostics[0].message)
                bad, good = bad + [(r, [problem]) for r in good], []
            except RowsRejected as exc:
                rows = {p.row for p in exc.problems}
                whole = None in rows
                bad += [(r, [p for p in exc.problems if whole or p.row == i]) for i, r in enumerate(good)
                        if whole or i in rows]
                good = [] if whole else [r for i, r in enumerate(good) if i not in rows]
        bad += [(r, [RowProblem(None, None, "rejected with the batch")]) for r in good]
        self.service.ingest_side(lambda con: con.insert(self.table, pa.concat_tables(
            [self._rejection(r, ps) for r, ps in bad])))
        self._rejected(run, bad)
        self.stored.update(run.offsets)
        return 0

    def _rejection(self, record: StreamRecord, problems: list[RowProblem]) -> pa.Table:
        text = json.dumps({"source": record.source, "op": record.op, "problems": [
            {"field": p.field, "message": p.message} for p in problems]})
        return self._offsets_rows({record.partition: record.offset}, 0, [text])

    def _rejected(self, run: Run, bad: list[tuple[StreamRecord, list[RowProblem]]]) -> None:
        if not bad:
            return
        self.rejected.labels(self.name).inc(len(bad))
        for record, problems in bad[:5]:
            log.warning("stream %s: record %s@%d for %s rejected: %s", self.name, record.partition, record.offset,
                        run.source, "; ".join(f"field {p.field}: {p.message}" for p in problems))

    def rejected_batches(self) -> list[dict[str, Any]]:
        """The stored rejections of this stream: partition, offset and the problems."""
        t = self.service.ingest_con.table(self.table)
        rows = t.filter((t.stream == ibis.literal(self.name)) & t.rejected.notnull()).to_pyarrow().to_pylist()
        found = [{"partition": r["partition"], "offset": int(r["offset"]), **json.loads(r["rejected"])} for r in rows]
        return sorted(found, key=lambda r: (r["partition"], r["offset"]))

    # -- the thread -----------------------------------------------------------------------
    def start(self) -> None:
        self.worker.start()
        self.worker.wake()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the poll in progress, then close the consumer."""
        self.worker.stop(timeout)
        if self.consumer is not None:
            self.consumer.close()
            self.consumer = None

    def _timeout(self) -> float:
        return min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** self.failures) if self.failures else 0.0

    def _failed(self, exc: Exception) -> None:
        """The consumer or the database failed: the consumer is opened again at the stored offsets
        (its position may be past records that were polled, not stored), retried with back-off."""
        self.failures += 1
        log.error("stream %s: %s: %s; reopening at the stored offsets", self.name, type(exc).__name__, exc)
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            try:
                consumer.close()
            except Exception as close_exc:  # the failed consumer may not close cleanly: say so, go on
                log.warning("stream %s: closing the failed consumer: %s", self.name, close_exc)
