"""Changes out of the service: a webhook of enter/exit changes, and the spec's destinations
through the sync engine.

Invariant (both outlets): a cursor in the service's ``meta`` table says what was delivered, and it
moves only after the receiver acknowledged everything up to it, in the transaction that records
it. A process killed between the acknowledgement and that commit sends the same changes again
after a restart, with the same change ids (at least once; receivers de-duplicate on
``change_id``). A receiver that is down makes the backlog grow (``segrules_serve_delivery_backlog``);
it drains, oldest first, when the receiver is back.

* :class:`ChangeWebhook` POSTs ``{"spec", "changes": [change, ...]}`` (at most ``batch`` changes,
  in ``seq`` order) with the header ``X-Segrules-Delivery`` (the first and last seq) and, with a
  secret, ``X-Segrules-Signature: sha256=<HMAC of the body>`` as the ``webhook`` destination signs.
* :class:`DestinationSync` runs ``Spec.sync`` — the existing engine, its state store, its
  de-duplication and retries — at the instant of the last evaluation, on its own connection,
  whenever changes were recorded since the last acknowledged sync (at most every ``every``
  seconds). What the engine sends is the difference between the audience and what each
  destination acknowledged, so a change the service recorded is never lost by the outlet.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any, Callable

import httpx

from .worker import Worker

log = logging.getLogger("segrules.serve")

MAX_BACKOFF_SECONDS = 60.0


class Outlet:
    """A delivery thread: woken by new changes, backing off after a failure."""

    cursor_name = ""

    def __init__(self, service: Any):
        self.service = service
        self.failures = 0
        self.worker = Worker(f"segrules-serve-{self.cursor_name}", self._round, self._timeout, self._failed)
        service.listeners.append(lambda changes: self.worker.wake() if changes else None)

    @property
    def cursor(self) -> int:
        with self.service.lock:
            return int(self.service.store.meta().get(self.cursor_name, "0"))

    def _advance(self, seq: int) -> None:
        with self.service.lock, self.service.store.transaction():
            self.service.store.set_meta({self.cursor_name: str(seq)})
        self.service.metrics.delivered_seq.labels(self.cursor_name).set(seq)

    def backlog(self) -> int:
        return max(0, self.service.latest_seq - self.cursor)

    def deliver(self) -> int:
        raise NotImplementedError

    def drain(self) -> int:
        """Deliver until nothing is left; the number of changes delivered (raises on failure)."""
        total = 0
        while True:
            done = self.deliver()
            total += done
            if not done:
                return total

    def start(self) -> None:
        self.service.metrics.delivered_seq.labels(self.cursor_name).set(self.cursor)
        self.worker.start()
        self.worker.wake()  # a backlog from before a restart goes first

    def stop(self, timeout: float = 10.0) -> None:
        self.worker.stop(timeout)

    def _timeout(self) -> float:
        return min(MAX_BACKOFF_SECONDS, 0.5 * 2 ** self.failures) if self.failures else 5.0

    def _round(self) -> None:
        self.drain()
        self.failures = 0
        self.service.metrics.backlog.labels(self.cursor_name).set(self.backlog())

    def _failed(self, exc: Exception) -> None:
        """The receiver is down or refused: the backlog waits (nothing is lost), retried with back-off."""
        self.failures += 1
        self.service.metrics.delivery_failures.labels(self.cursor_name).inc()
        self.service.metrics.backlog.labels(self.cursor_name).set(self.backlog())
        log.warning("%s: delivery failed (%s: %s); retrying", self.cursor_name, type(exc).__name__, exc)


class ChangeWebhook(Outlet):
    """POST the recorded changes to ``url`` (see the module docstring)."""

    cursor_name = "webhook"

    def __init__(self, service: Any, url: str, *, secret: str | None = None, batch: int = 500,
                 timeout: float = 10.0, transport: httpx.BaseTransport | None = None):
        super().__init__(service)
        self.url, self.secret, self.batch = url, secret, batch
        self.client = httpx.Client(timeout=timeout, transport=transport)

    def deliver(self) -> int:
        changes = self.service.changes(self.cursor, limit=self.batch)
        if not changes:
            return 0
        body = json.dumps({"spec": self.service.spec.name, "changes": [c.as_json() for c in changes]},
                          separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json",
                   "X-Segrules-Delivery": f"{changes[0].seq}-{changes[-1].seq}"}
        if self.secret:
            headers["X-Segrules-Signature"] = "sha256=" + hmac.new(self.secret.encode(), body,
                                                                   hashlib.sha256).hexdigest()
        response = self.client.post(self.url, content=body, headers=headers)
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"the webhook answered HTTP {response.status_code}")
        self._advance(changes[-1].seq)
        self.service.metrics.delivered.labels(self.cursor_name).inc(len(changes))
        return len(changes)


class DestinationSync(Outlet):
    """Run the spec's syncs (``Spec.sync``) on ``connect()``, a connection of its own, when changes
    were recorded since the last one (see the module docstring)."""

    cursor_name = "sync"

    def __init__(self, service: Any, connect: Callable[[], Any], *, state: str | None = None,
                 syncs: list[str] | None = None, env: Any = None):
        super().__init__(service)
        self.connect, self.state, self.syncs, self.env = connect, state, syncs, env
        self.results: list[Any] = []

    def deliver(self) -> int:
        with self.service.lock:
            target = self.service.latest_seq
            meta = self.service.store.meta()
        done = int(meta.get(self.cursor_name, "0"))
        if target <= done:
            return 0
        from ..api import parse_as_of
        now = parse_as_of(meta["now"]) if "now" in meta else None
        con = self.connect()
        try:
            result = self.service.spec.sync(con, syncs=self.syncs, state=self.state, as_of=now, env=self.env,
                                            lock_timeout=30.0)
        finally:
            con.disconnect()
        self.results.append(result)
        if not result.ok:
            failed = ", ".join(f"{o.sync}: {o.status}" for o in [*result.failed, *result.refused])
            raise RuntimeError(f"sync did not finish ({failed})")
        self._advance(target)
        self.service.metrics.delivered.labels(self.cursor_name).inc(target - done)
        return target - done
