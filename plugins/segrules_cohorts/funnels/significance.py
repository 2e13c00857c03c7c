"""Pearson's chi-square test of independence on a contingency table of counts, the p-value from
the cohorts plugin's chi-square tail (``segrules_cohorts.stats``). No continuity correction (as
``scipy.stats.chi2_contingency(..., correction=False)``): with breakdowns of many users the
correction only biases a 2 x 2 test towards 1."""

from __future__ import annotations

from dataclasses import dataclass

from ..stats import chi2_sf


@dataclass(frozen=True)
class ChiSquare:
    statistic: float
    dof: int
    p_value: float

    def to_dict(self) -> dict:
        return {"statistic": self.statistic, "dof": self.dof, "p_value": self.p_value}


def chi_square(table: list[list[int]]) -> ChiSquare | None:
    """The test for ``table`` (rows: outcomes, columns: groups). Rows or columns that are all zero
    carry no information and are dropped; None when fewer than two of either remain (every group
    converted alike, or one group only: nothing to compare)."""
    rows = [r for r in table if sum(r) > 0]
    cols = [j for j in range(len(table[0]) if table else 0) if sum(r[j] for r in rows) > 0]
    if len(rows) < 2 or len(cols) < 2:
        return None
    rows = [[r[j] for j in cols] for r in rows]
    total = sum(map(sum, rows))
    row_sums = [sum(r) for r in rows]
    col_sums = [sum(r[j] for r in rows) for j in range(len(cols))]
    statistic = 0.0
    for i, r in enumerate(rows):
        for j, observed in enumerate(r):
            expected = row_sums[i] * col_sums[j] / total
            statistic += (observed - expected) ** 2 / expected
    dof = (len(rows) - 1) * (len(cols) - 1)
    return ChiSquare(statistic, dof, chi2_sf(statistic, dof))
