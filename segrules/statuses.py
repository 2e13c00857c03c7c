"""The closed sets of statuses, in one place.  ``StrEnum``s: a member *is* its string, so the state
stores, the run log and JSON output hold the same values as before they were enums."""

from __future__ import annotations

import enum


class SyncStatus(enum.StrEnum):
    """What happened to one sync in a run (``Outcome.status``, ``sync_runs.status``)."""

    PENDING = "pending"  # planned, not (yet) sent
    RUNNING = "running"  # the run log's row while it is being sent
    OK = "ok"  # everything acknowledged
    PARTIAL = "partial"  # sent, some rows rejected by the destination or its identifier checks
    FAILED = "failed"  # the destination failed: what it did not acknowledge is sent again next run
    REFUSED = "refused"  # above max_removals: nothing sent
    DRY_RUN = "dry-run"  # planned with --dry-run: nothing sent
    INTERRUPTED = "interrupted"  # the run log says running, and a later run of the sync started

    @classmethod
    def final(cls) -> frozenset[SyncStatus]:
        """The statuses a sync can end a run in."""
        return frozenset(cls) - {cls.PENDING, cls.RUNNING}


class RowStatus(enum.StrEnum):
    """One row's outcome in the changelog (``sync_changes.status``)."""

    OK = "ok"  # acknowledged by the destination
    REJECTED = "rejected"  # refused (by the destination, or an invalid identifier), with the reason


class SegmentStatus(enum.StrEnum):
    """How a segment's membership compares with the last snapshot (``history plan``/``diff``)."""

    NEW = "new"  # not in the last snapshot
    REMOVED = "removed"  # in the last snapshot, not in the spec any more
    CHANGED = "changed"
    UNCHANGED = "unchanged"
