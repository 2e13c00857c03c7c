"""``segrules plan``: what a (changed) spec would do to membership, against a snapshot.

The spec's rule matches are compared with the rule matches stored in the snapshot (``matched``
members), at the snapshot's ``as_of`` by default, so the difference is the spec change and not
the data that arrived since.  The join and the counting happen in the state store's database.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import pyarrow as pa

from ..statuses import SegmentStatus
from .store import HistoryStore, RunInfo, tally


@dataclass
class SegmentPlan:
    segment: str
    status: SegmentStatus
    before: int
    after: int
    added: int
    removed: int
    unchanged: int
    added_sample: list[str] = field(default_factory=list)
    removed_sample: list[str] = field(default_factory=list)

    @property
    def change(self) -> float:
        """(added + removed) / members before, in percent; 100 when a segment goes from 0 to some."""
        if self.before == 0:
            return 100.0 if self.added else 0.0
        return 100.0 * (self.added + self.removed) / self.before


def plan_against(store: HistoryStore, spec, matches: pa.Table, baseline: RunInfo, samples: int = 5) -> list[SegmentPlan]:
    new = ibis.memtable(matches).mutate(hit=ibis.literal(True))
    base = store.members(baseline.run_id)
    base = base.filter(base.matched).select(b_segment="segment", b_key="key")
    j = new.outer_join(base, [new.segment == base.b_segment, new.key == base.b_key])
    j = j.select(segment=ibis.coalesce(j.segment, j.b_segment), key=ibis.coalesce(j.key, j.b_key),
                 added=j.b_key.isnull(), removed=j.hit.isnull()).view()
    totals = j.group_by("segment").aggregate(
        added=tally(j.added), removed=tally(j.removed),
        unchanged=tally(~j.added & ~j.removed))
    changed = j.filter(j.added | j.removed).mutate(kind=ibis.ifelse(j.added, "added", "removed"))
    # Keys are stored as text; shorter first puts numeric keys in numeric order (2 before 10).
    natural = [changed.key.length(), changed.key]
    ranked = changed.mutate(rank=ibis.row_number().over(group_by=[changed.segment, changed.kind],
                                                          order_by=natural))
    picked = ranked.filter(ranked.rank < samples).order_by(["segment", "kind", ranked.rank])
    found = {r["segment"]: r for r in totals.to_pyarrow().to_pylist()}
    sample_rows = picked.select("segment", "kind", "key").to_pyarrow().to_pylist() if samples > 0 else []
    before_segments = {r["segment"] for r in store.counts(baseline.run_id).select("segment").to_pyarrow().to_pylist()}
    out = []
    for name in list(dict.fromkeys(spec.segments + sorted(before_segments - set(spec.segments)))):
        row = found.get(name, {"added": 0, "removed": 0, "unchanged": 0})
        added, removed, unchanged = (int(row[k] or 0) for k in ("added", "removed", "unchanged"))
        status = (SegmentStatus.NEW if name not in before_segments
                  else SegmentStatus.REMOVED if name not in spec.segments
                  else SegmentStatus.CHANGED if added or removed else SegmentStatus.UNCHANGED)
        out.append(SegmentPlan(name, status, unchanged + removed, unchanged + added, added, removed, unchanged,
                               [r["key"] for r in sample_rows if r["segment"] == name and r["kind"] == "added"],
                               [r["key"] for r in sample_rows if r["segment"] == name and r["kind"] == "removed"]))
    return out


def over_limit(plans: list[SegmentPlan], max_change: float | None) -> list[SegmentPlan]:
    """Segments that change by more than ``max_change`` percent (new segments are not compared)."""
    if max_change is None:
        return []
    return [p for p in plans if p.status is not SegmentStatus.NEW and p.change > max_change]
