"""``segrules backfill``: point-in-time membership over a date range into the history, with one
compiled plan executed once per point in time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Callable, Iterator

from ..errors import SpecError
from .snapshots import MembershipQuery, snapshot
from .store import HistoryStore, RunInfo


def points_in_time(start: datetime, end: datetime, every: timedelta) -> Iterator[datetime]:
    if every <= timedelta(0):
        raise SpecError("--every must be a positive duration such as 1d", code="SR753")
    if end < start:
        raise SpecError(f"--to {end} is before --from {start}", code="SR753")
    t = start
    while t <= end:
        yield t
        t += every


def backfill(store: HistoryStore, spec, con, times: list[datetime], params=None,
             progress: Callable[[int, int, RunInfo], None] | None = None) -> list[RunInfo]:
    """One snapshot per time in ``times`` (ascending), oldest first, so the stability controls
    see the history in order. Refuses to write before an existing snapshot of the spec.  Callers
    hold the spec's snapshot lock."""
    later = [r for r in store.runs(spec.name) if r.as_of >= times[0]] if times else []
    if later:
        raise SpecError(f"the state store already has {len(later)} snapshot(s) of {spec.name!r} at or after "
                        f"{times[0]} (first: {later[0].run_id} at {later[0].as_of}); a backfill must come "
                        "before the existing history", code="SR752",
                        hint="backfill into another store with --state, or start after the last snapshot")
    query = MembershipQuery(spec, con, params)  # compiled once
    runs: list[RunInfo] = []
    previous = store.previous(spec.name, times[0]) if times else None
    for i, when in enumerate(times):
        matches, universe = query.matches(when)
        runs.append(snapshot(store, spec, matches, universe, when, previous=runs[-1] if runs else previous))
        if progress:
            progress(i + 1, len(times), runs[-1])
    return runs
