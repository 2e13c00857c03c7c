"""Tests from aggregates: each group is summarised by its count, sum and sum of squares (computed
in the database), and every statistic follows from those.

* mean ``m = S / n``; sample variance ``v = (Q - S²/n) / (n - 1)``;
* 95% interval of a mean: ``m ± t(0.975, n-1) · sqrt(v/n)``; of a proportion (Wald):
  ``p ± z(0.975) · sqrt(p(1-p)/n)``;
* Welch's t test: ``t = (m₁ - m₀) / sqrt(v₁/n₁ + v₀/n₀)`` with Welch–Satterthwaite degrees of
  freedom (scipy's ``ttest_ind(equal_var=False)``);
* two-proportion z test with the pooled proportion (the same p-value as a 2x2 chi-square without
  continuity correction);
* sample-ratio mismatch: Pearson's chi-square of the group sizes against the configured weights,
  ``k - 1`` degrees of freedom.

A statistic that is undefined (a group of one has no variance; all values equal give a zero
standard error) is None, never a made-up number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .stats import chi2_sf, norm_ppf, norm_sf, t_ppf, t_two_sided

SRM_ALPHA = 0.001  # the usual threshold: a mismatch this unlikely means the split is broken


@dataclass(frozen=True)
class Summary:
    n: int
    total: float
    squares: float

    @property
    def mean(self) -> float | None:
        return self.total / self.n if self.n else None

    @property
    def variance(self) -> float | None:
        if self.n < 2:
            return None
        return max(0.0, (self.squares - self.total * self.total / self.n) / (self.n - 1))


@dataclass(frozen=True)
class Comparison:
    """One variant against the control: difference, lift, test statistic and two-sided p."""

    difference: float | None
    lift: float | None
    statistic: float | None
    df: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None


def interval(s: Summary, proportion: bool) -> tuple[float | None, float | None]:
    """The 95% interval of the group's mean (or proportion)."""
    m = s.mean
    if m is None:
        return None, None
    if proportion:
        half = norm_ppf(0.975) * math.sqrt(m * (1 - m) / s.n)
    else:
        v = s.variance
        if v is None:
            return None, None
        half = t_ppf(0.975, s.n - 1) * math.sqrt(v / s.n)
    return m - half, m + half


def _lift(treated: float | None, control: float | None) -> float | None:
    if treated is None or control is None or control == 0:
        return None
    return (treated - control) / abs(control)


def welch(treated: Summary, control: Summary) -> Comparison:
    """Welch's unequal-variance t test of the means."""
    m1, m0, v1, v0 = treated.mean, control.mean, treated.variance, control.variance
    diff = None if m1 is None or m0 is None else m1 - m0
    if v1 is None or v0 is None:
        return Comparison(diff, _lift(m1, m0), None, None, None, None, None)
    a, b = v1 / treated.n, v0 / control.n
    se = math.sqrt(a + b)
    if se == 0:
        return Comparison(diff, _lift(m1, m0), None, None, None, None, None)
    df = (a + b) ** 2 / (a * a / (treated.n - 1) + b * b / (control.n - 1))
    t = diff / se
    half = t_ppf(0.975, df) * se
    return Comparison(diff, _lift(m1, m0), t, df, t_two_sided(t, df), diff - half, diff + half)


def two_proportions(treated: Summary, control: Summary) -> Comparison:
    """The two-proportion z test with the pooled proportion; the interval of the difference is
    the unpooled (Wald) one."""
    p1, p0 = treated.mean, control.mean
    diff = None if p1 is None or p0 is None else p1 - p0
    if diff is None:
        return Comparison(None, None, None, None, None, None, None)
    pooled = (treated.total + control.total) / (treated.n + control.n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / treated.n + 1 / control.n))
    half = norm_ppf(0.975) * math.sqrt(p1 * (1 - p1) / treated.n + p0 * (1 - p0) / control.n)
    if se == 0:
        return Comparison(diff, _lift(p1, p0), None, None, None, diff - half, diff + half)
    z = diff / se
    return Comparison(diff, _lift(p1, p0), z, None, min(1.0, 2 * norm_sf(abs(z))), diff - half, diff + half)


@dataclass(frozen=True)
class SampleRatio:
    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float | None
    df: int
    p_value: float | None

    @property
    def mismatch(self) -> bool:
        return self.p_value is not None and self.p_value < SRM_ALPHA


def sample_ratio(observed: dict[str, int], weights: dict[str, int]) -> SampleRatio:
    """Pearson's chi-square of the group sizes against the split's weights."""
    n, total = sum(observed.values()), sum(weights.values())
    expected = {g: n * w / total for g, w in weights.items()}
    df = len(weights) - 1
    if n == 0:
        return SampleRatio(observed, expected, None, df, None)
    chi2 = sum((observed.get(g, 0) - e) ** 2 / e for g, e in expected.items())
    return SampleRatio(observed, expected, chi2, df, chi2_sf(chi2, df))
