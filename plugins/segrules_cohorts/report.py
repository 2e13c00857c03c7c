"""The retention report of ``segrules cohort``: the matrix from one query, in plain Python values
(for the text table, the JSON, the HTML heatmap and the PNG)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from segrules.plugin import SpecError

from .config import COHORTS
from .periods import python_index
from .retention import matrix


@dataclass(frozen=True)
class CohortRow:
    label: str
    size: int
    active: tuple[int | None, ...]  # per period 0..P; None: the period has not ended

    def share(self, k: int) -> float | None:
        count = self.active[k]
        return None if count is None or not self.size else count / self.size


@dataclass(frozen=True)
class CohortReport:
    spec: str
    name: str
    as_of: datetime
    grain: str
    retention: str
    periods: int
    rows: tuple[CohortRow, ...]

    @property
    def average(self) -> tuple[float | None, ...]:
        """Per period: the retained entities over the members of the cohorts that reached it
        (a weighted average; cohorts whose period k has not ended take no part)."""
        out = []
        for k in range(self.periods + 1):
            seen = [r for r in self.rows if r.active[k] is not None]
            members = sum(r.size for r in seen)
            out.append(sum(r.active[k] for r in seen) / members if members else None)
        return tuple(out)

    @property
    def entities(self) -> int:
        return sum(r.size for r in self.rows)

    def to_json(self) -> dict:
        return {"spec": self.spec, "cohort": self.name, "as_of": self.as_of.isoformat(), "grain": self.grain,
                "retention": self.retention, "periods": self.periods,
                "cohorts": [{"cohort": r.label, "size": r.size, "active": list(r.active),
                             "retention": [r.share(k) for k in range(self.periods + 1)]} for r in self.rows],
                "average": list(self.average)}


def compute_cohort(spec, con, name: str, *, as_of=None, params=None) -> CohortReport:
    ctx = spec.section_context(con, COHORTS, as_of=as_of, params=params)
    if name not in ctx.config:
        raise SpecError(f"the cohorts: section has no cohort {name!r} (it has: {', '.join(ctx.config)})",
                        code="COH104")
    c = ctx.config[name]
    now = python_index(ctx.now, c.grain.value)
    rows = []
    for r in matrix(ctx, name).to_pyarrow().to_pylist():
        active = tuple(int(r[f"active{k}"]) if now - r["cohort"] > k else None for k in range(c.periods + 1))
        rows.append(CohortRow(r["label"], int(r["size"]), active))
    return CohortReport(spec.name, name, ctx.now, c.grain.value, c.retention.value, c.periods, tuple(rows))
