"""The cohorts plugin's hand-written distribution functions equal scipy's to 1e-9 (scipy is a
test-only dependency): normal, Student t (integer and fractional degrees of freedom, as Welch's
test gives), chi-square, and the quantiles used for confidence intervals."""

import math

import pytest
from hypothesis import given, settings, strategies as st
from scipy import special, stats as sp

from segrules_cohorts import stats


def close(got, want, tol=1e-9):
    return abs(got - want) <= tol * max(1.0, abs(want)) or (want != 0 and abs(got / want - 1) <= tol)


def relclose(got, want, tol=1e-9):
    """Relative to the value when it is tiny (a p-value of 1e-30 must not be 0)."""
    return abs(got - want) <= tol * abs(want) + 1e-300


@pytest.mark.parametrize("z", [-40, -8.5, -3, -1.959963984540054, -0.1, 0, 0.1, 1, 1.96, 5, 8.5, 12, 37.5])
def test_cohorts_stats_normal(z):
    assert relclose(stats.norm_sf(z), sp.norm.sf(z))
    assert relclose(stats.norm_cdf(z), sp.norm.cdf(z))


@given(st.floats(-60, 60), st.floats(0.05, 1e6))
@settings(max_examples=600, deadline=None)
def test_cohorts_stats_t_sf(t, df):
    assert relclose(stats.t_sf(t, df), sp.t.sf(t, df), 1e-9)
    assert close(stats.t_two_sided(t, df), 2 * sp.t.sf(abs(t), df))


@pytest.mark.parametrize("t, df", [(0, 1), (1, 1), (-3, 2), (2.5, 3.7), (12, 5), (40, 30), (1.96, 1e7),
                                   (0.5, 0.3), (6, 1.2), (100, 10)])
def test_cohorts_stats_t_sf_cases(t, df):
    assert relclose(stats.t_sf(t, df), sp.t.sf(t, df))


@given(st.floats(0, 500), st.floats(0.1, 200))
@settings(max_examples=600, deadline=None)
def test_cohorts_stats_chi2_sf(x, k):
    assert relclose(stats.chi2_sf(x, k), sp.chi2.sf(x, k), 1e-9)


@pytest.mark.parametrize("x, k", [(0, 1), (1e-9, 1), (3.841458820694124, 1), (5.99, 2), (100, 3), (0.5, 30),
                                  (250, 200), (1200, 1000)])
def test_cohorts_stats_chi2_sf_cases(x, k):
    assert relclose(stats.chi2_sf(x, k), sp.chi2.sf(x, k))


@given(st.floats(1e-6, 1), st.floats(0.1, 500), st.floats(0.1, 500))
@settings(max_examples=400, deadline=None)
def test_cohorts_stats_betainc(x, a, b):
    assert close(stats.betainc(a, b, x), special.betainc(a, b, x))


@given(st.floats(1e-8, 1 - 1e-8), st.floats(0.5, 1e5))
@settings(max_examples=300, deadline=None)
def test_cohorts_stats_quantiles(q, df):
    assert close(stats.norm_ppf(q), sp.norm.ppf(q), 1e-9)
    assert close(stats.t_ppf(q, df), sp.t.ppf(q, df), 1e-8)


def test_cohorts_stats_bad_arguments():
    with pytest.raises(ValueError):
        stats.t_sf(1.0, 0)
    with pytest.raises(ValueError):
        stats.chi2_sf(1.0, -1)
    with pytest.raises(ValueError):
        stats.norm_ppf(1.0)
    assert stats.t_sf(math.inf, 3) == 0.0
