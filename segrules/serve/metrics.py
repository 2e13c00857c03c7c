"""Prometheus metrics of one service (its own registry: two services in one process, as in the
tests, do not share counters)."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.rows = Counter("segrules_serve_ingested_rows", "Rows ingested and committed", ["source"], registry=r)
        self.batches = Counter("segrules_serve_ingested_batches", "Batches ingested and committed", ["source"],
                               registry=r)
        self.changes = Counter("segrules_serve_changes", "Membership changes recorded", ["kind"], registry=r)
        self.evaluations = Counter("segrules_serve_evaluations", "Evaluations run", registry=r)
        self.errors = Counter("segrules_serve_evaluation_errors", "Evaluations that failed (retried)", registry=r)
        self.evaluation_seconds = Histogram("segrules_serve_evaluation_seconds", "Time one evaluation takes",
                                            buckets=LATENCY_BUCKETS, registry=r)
        self.lag_seconds = Histogram("segrules_serve_lag_seconds", "From the oldest ingest of an evaluation to "
                                     "its changes being recorded", buckets=LATENCY_BUCKETS, registry=r)
        self.delivered = Counter("segrules_serve_delivered_changes", "Changes acknowledged by an outlet",
                                 ["outlet"], registry=r)
        self.delivery_failures = Counter("segrules_serve_delivery_failures", "Failed delivery attempts (retried)",
                                         ["outlet"], registry=r)
        self.backlog = Gauge("segrules_serve_delivery_backlog", "Changes recorded, not yet acknowledged by an "
                             "outlet", ["outlet"], registry=r)
        self.delivered_seq = Gauge("segrules_serve_delivered_seq", "The last change seq an outlet delivered "
                                   "(its cursor)", ["outlet"], registry=r)
        self.stream_rejected = Counter("segrules_serve_stream_rejected", "Stream records the ingest rejected "
                                       "(stored with their offsets, not appended)", ["stream"], registry=r)
        self.pending = Gauge("segrules_serve_pending_keys", "Keys touched by ingested rows, not yet evaluated",
                             registry=r)

    def ingested(self, source: str, rows: int) -> None:
        self.rows.labels(source).inc(rows)
        self.batches.labels(source).inc()

    def evaluated(self, seconds: float, changes: list[Any], pending_since: float | None) -> None:
        self.evaluations.inc()
        self.evaluation_seconds.observe(seconds)
        if pending_since is not None:
            self.lag_seconds.observe(time.monotonic() - pending_since)
        for change in changes:
            self.changes.labels(change.kind).inc()

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format."""
        return generate_latest(self.registry)
