"""History snapshots of the service's membership (``segrules serve --snapshot``), consistent with
its change stream.

Invariant: a snapshot is the ``members`` table and the ``meta`` row of ONE committed evaluation,
read under the service's lock (so no evaluation is half in it), stored at that evaluation's
``now``: it equals the membership after every change with ``seq`` up to that evaluation's last one
— what a receiver of the change stream has after applying them — and its enter/exit events are
the net difference of those changes since the previous snapshot. The cursor ``history`` (in
``meta``) moves to that seq after the snapshot committed; a process killed in between takes the
next snapshot again after a restart (a second snapshot of the same membership records no event).

The stability controls (``min_days_in``, ``cooldown_days``) would make a snapshot differ from the
change stream (they hold members the rules let go): such a spec is refused at start (SR907).
"""

from __future__ import annotations

import time
from typing import Any

from ..diagnostics import Diagnostic, Severity
from ..errors import SpecError
from .delivery import Outlet


def check_stability(spec: Any) -> None:
    """SR907 for each segment with ``min_days_in`` or ``cooldown_days``, at the key."""
    index = spec.document.index
    diags = [Diagnostic("SR907", f"--snapshot: segment {name!r} has {field}, which the service's change stream "
                        "does not apply (its snapshots would disagree with its changes)",
                        index.key_span(("segments", name, field)), severity=Severity.ERROR,
                        hint="take snapshots with `segrules run --snapshot` for this spec, or drop the control")
             for name, seg in spec.model.segments.items()
             for field in ("min_days_in", "cooldown_days") if getattr(seg, field)]
    if diags:
        raise SpecError(diagnostics=diags)


class HistorySnapshots(Outlet):
    """Store a snapshot of the last evaluation's membership in the history of ``state`` (the
    state store of ``segrules run --snapshot``) when changes were recorded since the last one,
    at most every ``every`` seconds."""

    cursor_name = "history"

    def __init__(self, service: Any, *, state: str | None = None, every: float = 0.0, lock_timeout: float = 30.0):
        check_stability(service.spec)
        super().__init__(service)
        self.state, self.every, self.lock_timeout = state, every, lock_timeout
        self.last: float | None = None
        self.stored: list[Any] = []  # the snapshots stored by this process (StoredSnapshot)

    def deliver(self) -> int:
        from ..api import parse_as_of
        from ..history.session import store_snapshot
        from ..state.lock import snapshot_lock

        if self.last is not None and time.monotonic() - self.last < self.every:
            return 0
        service, spec = self.service, self.service.spec
        with service.lock:  # one committed evaluation: its members and its meta
            meta = service.store.meta()
            target, done = int(meta.get("change_seq", "0")), int(meta.get(self.cursor_name, "0"))
            if target <= done or "now" not in meta:
                return 0
            wide = service.store.table("members").select(service.key, *service.evaluator.segments).to_pyarrow()
        now = parse_as_of(meta["now"])
        with snapshot_lock(self.state, spec.name, self.lock_timeout):
            self.stored.append(store_snapshot(spec, wide, now, self.state))
        self.last = time.monotonic()
        self._advance(target)
        service.metrics.delivered.labels(self.cursor_name).inc(target - done)
        return target - done

    def _timeout(self) -> float:
        if self.failures or self.last is None:
            return super()._timeout()
        return max(0.05, min(5.0, self.every - (time.monotonic() - self.last)))
