"""Overlaps on data, in ONE query: the spec's plan for the segments, aggregated in the database
(sizes, pairwise intersections with a sample key, per group the entities in several / in none
with a few sample keys).  Values are built with Ibis only, so it runs on every backend."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from typing import Any

from segrules.plugin import run_query


@dataclass
class Group:
    segments: list[str]
    in_several: int = 0
    in_none: int = 0
    several_samples: list = field(default_factory=list)
    none_samples: list = field(default_factory=list)


@dataclass
class Overlap:
    universe: int
    sizes: dict[str, int]
    pairs: dict[tuple[str, str], tuple[int, Any]]  # (a, b) -> (entities in both, smallest such key)
    groups: dict[str, Group]

    def both(self, a: str, b: str) -> int:
        return self.pairs[(a, b) if (a, b) in self.pairs else (b, a)][0]

    def jaccard(self, a: str, b: str) -> float:
        both = self.both(a, b)
        union = self.sizes[a] + self.sizes[b] - both
        return both / union if union else 0.0


def _one_or_zero(condition):
    """1 or 0 per entity (PostgreSQL cannot cast a boolean to an integer)."""
    return condition.ifelse(1, 0)


def measure(wide, key: str, segments: list[str], pairs: list[tuple[str, str]],
            groups: dict[str, list[str]], samples: int = 5) -> Overlap:
    """Run the one aggregate over ``wide`` (the plan: key and a boolean per segment)."""
    as_int = {s: _one_or_zero(wide[s]) for s in segments}
    metrics = {"universe": wide.count()}
    for i, s in enumerate(segments):
        metrics[f"size{i}"] = as_int[s].sum()
    index = {s: i for i, s in enumerate(segments)}
    for a, b in pairs:
        both = wide[a] & wide[b]
        metrics[f"both{index[a]}_{index[b]}"] = _one_or_zero(both).sum()
        metrics[f"sample{index[a]}_{index[b]}"] = wide[key].min(where=both)
    for g, (name, members) in enumerate(groups.items()):
        count = reduce(lambda x, y: x + y, [as_int[s] for s in members])
        for label, cond in (("several", count > 1), ("none", count == 0)):
            metrics[f"{label}{g}"] = _one_or_zero(cond).sum()
            # sorted after collecting: Spark has no ordered aggregate (Ibis: collect(order_by=) unsupported)
            metrics[f"{label}_keys{g}"] = wide[key].collect(where=cond).sort()[:samples]
    [row] = run_query(lambda: wide.aggregate(**metrics).to_pyarrow().to_pylist(), "measuring overlaps")
    sizes = {s: int(row[f"size{i}"] or 0) for i, s in enumerate(segments)}
    out_pairs = {(a, b): (int(row[f"both{index[a]}_{index[b]}"] or 0), row[f"sample{index[a]}_{index[b]}"])
                 for a, b in pairs}
    out_groups = {}
    for g, (name, members) in enumerate(groups.items()):
        out_groups[name] = Group(members, int(row[f"several{g}"] or 0), int(row[f"none{g}"] or 0),
                                 list(row[f"several_keys{g}"] or []), list(row[f"none_keys{g}"] or []))
    return Overlap(int(row["universe"]), sizes, out_pairs, out_groups)
