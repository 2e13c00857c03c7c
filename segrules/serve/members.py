"""The membership of the last committed evaluation, held in memory for lookups and counts.

Invariant: the view equals the ``members`` table as the last committed evaluation left it —
every row, with the values the database returns for it — together with that evaluation's
``now`` (``as_of``). The evaluation thread builds what changes (the rows it wrote, the keys it
removed, the new counts) from the very Arrow rows it inserted, and swaps them in only after its
transaction committed, under a lock held for the dictionary assignments alone; a lookup takes
the same lock, so it sees one committed evaluation whole, never half of the next one, and never
waits for an evaluation to run (only, for microseconds, for one to be swapped in). A failed
evaluation (rolled back) leaves the view as it was.

Rows are tuples in the members table's column order (key, one boolean per segment, the
features), keyed by the entity key; per segment the number of rows where it is true (what
``count(*) WHERE segment`` gives).
"""

from __future__ import annotations

import threading
from typing import Any

import pyarrow as pa


class MemberView:
    """``columns``: the members table's columns (the key first); ``segments``, ``features``: the
    names among them a lookup answers with."""

    def __init__(self, columns: list[str], segments: list[str], features: list[str]):
        self.columns, self.segments, self.features = columns, segments, features
        self._segment_at = [(s, columns.index(s)) for s in segments]
        self._feature_at = [(f, columns.index(f)) for f in features]
        self._lock = threading.Lock()
        self._rows: dict[Any, tuple] = {}
        self._counts: dict[str, int] = dict.fromkeys(segments, 0)
        self.as_of: str | None = None

    # -- the evaluation thread ------------------------------------------------------------
    def load(self, members: pa.Table, as_of: str | None) -> None:
        """Replace everything with ``members`` (the whole table, as read from the database)."""
        rows = {row[0]: row for row in _tuples(members, self.columns)}
        counts = {s: sum(1 for row in rows.values() if row[i]) for s, i in self._segment_at}
        with self._lock:
            self._rows, self._counts, self.as_of = rows, counts, as_of

    def apply(self, written: pa.Table, removed: list[Any], as_of: str) -> None:
        """A committed evaluation: ``written`` (the rows it inserted, replacing their keys'),
        ``removed`` (keys whose rows it deleted without a new one), at ``as_of``."""
        new = {row[0]: row for row in _tuples(written, self.columns)}
        gone = [k for k in removed if k not in new]
        counts = dict(self._counts)  # only this thread writes: reading outside the lock is safe
        for k in [*new, *gone]:
            before, after = self._rows.get(k), new.get(k)
            for s, i in self._segment_at:
                counts[s] += bool(after is not None and after[i]) - bool(before is not None and before[i])
        with self._lock:
            self._rows.update(new)
            for k in gone:
                self._rows.pop(k, None)
            self._counts, self.as_of = counts, as_of

    # -- lookups (any thread, the event loop's included) -------------------------------------
    def member(self, key: Any) -> dict[str, Any] | None:
        """``{"key", "as_of", "segments", "features"}`` of ``key``, or None when it is not a
        member of the universe."""
        with self._lock:
            row, as_of = self._rows.get(key), self.as_of
        if row is None:
            return None
        return {"key": row[0], "as_of": as_of, "segments": [s for s, i in self._segment_at if row[i]],
                "features": {f: row[i] for f, i in self._feature_at}}

    def count(self, segment: str) -> int:
        with self._lock:
            return self._counts[segment]

    def __len__(self) -> int:
        return len(self._rows)

    def rows(self) -> dict[Any, tuple]:
        """A copy of every row by key (tests compare it with the table)."""
        with self._lock:
            return dict(self._rows)


def _tuples(table: pa.Table, columns: list[str]) -> list[tuple]:
    """The rows of ``table`` as tuples in ``columns`` order, with the Python values Arrow gives
    (those the database driver gives for the same column types)."""
    if table.num_rows == 0:
        return []
    return list(zip(*(table.column(c).to_pylist() for c in columns)))
