"""One sync of a spec's audiences, start to end: what :meth:`segrules.Spec.sync` and
``segrules sync`` run.

The syncs are planned against the spec's table columns, the state store is opened, the changes
computed; then, unless it is a dry run or ``max_removals`` refused a sync (nothing is sent then),
every planned sync is delivered. A real run holds the state-store lock of each selected sync
from before the changes are computed until the last acknowledgement is stored, so two runs of
one sync never interleave (SR757 after ``lock_timeout``)."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..state import open_state
from ..state.lock import parse_timeout, sync_locks
from ..statuses import SyncStatus
from .config import plan_syncs
from .engine import Outcome, Progress, SyncRun


@dataclass
class SyncResult:
    """What a sync did: per sync an :class:`~segrules.sync.Outcome` (counts, status, error,
    samples of the changes). ``run_id`` is the run in the sync log (``segrules sync-log``);
    None when nothing was sent (a dry run, or a run ``max_removals`` refused)."""

    spec: str
    run_id: str | None
    outcomes: list[Outcome]
    dry_run: bool

    @property
    def refused(self) -> list[Outcome]:
        """The syncs ``max_removals`` refused; when there is one, nothing was sent."""
        return [o for o in self.outcomes if o.status is SyncStatus.REFUSED]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is SyncStatus.FAILED]

    @property
    def ok(self) -> bool:
        """Every sync finished (or, for a dry run, could run): none refused or failed."""
        return not self.refused and not self.failed


def run_syncs(spec, con, *, syncs: list[str] | None = None, state: str | Path | None = None, as_of=None,
              params: dict | None = None, dry_run: bool = False, full_resync: bool = False,
              lock_timeout: float | str = 0.0, progress: Progress | None = None,
              env: Mapping[str, str] | None = None, retry_dead: bool = False) -> SyncResult:
    """Sync ``spec``'s audiences (``syncs``: these by name, default all) from the tables of
    ``con`` to their destinations, with the state store at ``state`` (default
    ``.segrules/state.duckdb``). ``progress`` gets ``start(sync, rows)`` and ``advance(sync, rows)``
    while a sync is delivered; ``${NAME}`` secrets are read from ``env`` (default: the process
    environment); ``retry_dead``: send the parked dead rows again (docs/sync.md). Bad input (an unknown sync, a missing secret, an unreachable
    store) raises a :class:`~segrules.SegrulesError`; a destination's failure does not: it is
    that sync's outcome."""
    timeout = parse_timeout(lock_timeout) if isinstance(lock_timeout, str) else float(lock_timeout)
    columns = list(spec.check(con).schemas[spec.model.entity.table].names)
    planned = plan_syncs(spec.document, columns, spec.registry.destinations, syncs, env=env)
    with ExitStack() as held:
        if not dry_run:  # held while the changes are computed and sent
            held.enter_context(sync_locks(state, [p.name for p in planned], timeout))
        store = open_state(state)
        held.callback(store.con.disconnect)
        run = SyncRun(spec, con, store, planned, as_of=spec.now(as_of), params=params, full_resync=full_resync,
                      retry_dead=retry_dead, progress=progress)
        outcomes = run.plan()
        refused = any(o.status is SyncStatus.REFUSED for o in outcomes)
        if dry_run or refused:
            for o in outcomes:
                o.status = o.status if o.status is SyncStatus.REFUSED else SyncStatus.DRY_RUN
            return SyncResult(spec.name, None, outcomes, dry_run)
        run.deliver(outcomes)
        return SyncResult(spec.name, run.run_id, outcomes, dry_run)
