"""Distribution functions for the experiment and funnel tests, by hand (no scipy at run time).

* normal: ``norm_sf(z) = erfc(z / sqrt 2) / 2`` (``math.erfc`` is accurate in the far tail);
* Student t: ``t_sf(t, df) = I_x(df/2, 1/2) / 2`` with ``x = df / (df + t²)`` for ``t >= 0``
  (near the centre ``(1 - I_y(1/2, df/2)) / 2`` with ``y = 1 - x``), where
  ``I`` is the regularised incomplete beta function, evaluated by its continued fraction (modified
  Lentz; Numerical Recipes §6.4) on the side where it converges fast;
* chi-square: ``chi2_sf(x, k) = Q(k/2, x/2)``, the regularised upper incomplete gamma function: its
  series below ``a + 1``, its continued fraction above (Numerical Recipes §6.2);
* quantiles (``norm_ppf``, ``t_ppf``) by bisection on the distribution functions, to the last bit.

``tests/test_cohorts_stats.py`` compares every function with scipy to 1e-9 (absolute and relative).
"""

from __future__ import annotations

import math

_EPS = 1e-16
_TINY = 1e-300
_MAX_ITER = 10_000


def norm_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def norm_sf(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def _beta_cf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        for aa in (m * (b - m) * x / ((qam + m2) * (a + m2)), -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):
            d = 1.0 + aa * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + aa / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            return h
    raise ArithmeticError(f"incomplete beta: no convergence for a={a}, b={b}, x={x}")


def _log_gamma_ratio(a: float, b: float) -> float:
    """``lgamma(a + b) - lgamma(a)`` without the cancellation of two huge logarithms when ``a`` is
    large (a t test with a million degrees of freedom): Stirling's series with its correction
    terms, whose next term is below 1e-15 for ``a >= 20``."""
    if a < 20.0:
        return math.lgamma(a + b) - math.lgamma(a)

    def correction(x):
        x2 = x * x
        return (1.0 / 12.0 - (1.0 / 360.0 - (1.0 / 1260.0 - 1.0 / (1680.0 * x2)) / x2) / x2) / x

    return (a - 0.5) * math.log1p(b / a) + b * math.log(a + b) - b + correction(a + b) - correction(a)


def _log_beta_front(a: float, b: float) -> float:
    """``lgamma(a + b) - lgamma(a) - lgamma(b)``."""
    return _log_gamma_ratio(a, b) - math.lgamma(b) if a >= b else _log_gamma_ratio(b, a) - math.lgamma(a)


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function ``I_x(a, b)``, ``0 <= x <= 1``."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"betainc: x must be in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    log_front = _log_beta_front(a, b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_cf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_cf(b, a, 1.0 - x) / b


def _t_tail(t: float, df: float) -> float:
    """P(T > |t|). Near the centre ``1 - I_x`` is computed as ``I_y`` with ``y = t²/(df + t²)``,
    since ``x = df/(df + t²)`` rounds to 1 for a tiny ``t``."""
    t2 = t * t
    near = betainc(0.5, df / 2.0, t2 / (df + t2))
    if near < 0.5:
        return 0.5 * (1.0 - near)
    return 0.5 * betainc(df / 2.0, 0.5, df / (df + t2))


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with ``df`` (> 0, not necessarily whole) degrees of freedom."""
    if df <= 0 or math.isnan(df):
        raise ValueError(f"t_sf: degrees of freedom must be positive, got {df}")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = _t_tail(t, df)
    return tail if t >= 0 else 1.0 - tail


def t_two_sided(t: float, df: float) -> float:
    """P(|T| >= |t|)."""
    return 0.0 if math.isinf(t) else min(1.0, 2.0 * _t_tail(t, df))


def _gamma_series(a: float, x: float) -> float:
    """The regularised lower incomplete gamma P(a, x) by its series (x < a + 1)."""
    term = total = 1.0 / a
    ap = a
    for _ in range(_MAX_ITER):
        ap += 1.0
        term *= x / ap
        total += term
        if abs(term) < abs(total) * _EPS:
            return total * math.exp(-x + a * math.log(x) - math.lgamma(a))
    raise ArithmeticError(f"incomplete gamma series: no convergence for a={a}, x={x}")


def _gamma_cf(a: float, x: float) -> float:
    """The regularised upper incomplete gamma Q(a, x) by its continued fraction (x >= a + 1)."""
    b = x + 1.0 - a
    c, d = 1.0 / _TINY, 1.0 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + an / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        if abs(d * c - 1.0) < _EPS:
            return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h
    raise ArithmeticError(f"incomplete gamma fraction: no convergence for a={a}, x={x}")


def gammaincc(a: float, x: float) -> float:
    """The regularised upper incomplete gamma function ``Q(a, x)``."""
    if x <= 0.0:
        return 1.0
    if x < a + 1.0:
        return 1.0 - _gamma_series(a, x)
    return _gamma_cf(a, x)


def chi2_sf(x: float, k: float) -> float:
    """P(X > x) for a chi-square variable with ``k`` degrees of freedom."""
    if k <= 0:
        raise ValueError(f"chi2_sf: degrees of freedom must be positive, got {k}")
    return gammaincc(k / 2.0, x / 2.0)


def _bisect(sf, p: float, lo: float, hi: float) -> float:
    """The x with ``sf(x) == p`` for a decreasing ``sf`` (bracketed by lo, hi)."""
    while sf(hi) > p:
        hi *= 2.0
    while sf(lo) < p:
        lo *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if sf(mid) > p:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def norm_ppf(q: float) -> float:
    """The q-quantile of the standard normal distribution (0 < q < 1)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"norm_ppf: q must be in (0, 1), got {q}")
    return _bisect(norm_sf, 1.0 - q, -40.0, 40.0) if q != 0.5 else 0.0


def t_ppf(q: float, df: float) -> float:
    """The q-quantile of Student's t with ``df`` degrees of freedom (0 < q < 1)."""
    if not 0.0 < q < 1.0:
        raise ValueError(f"t_ppf: q must be in (0, 1), got {q}")
    if q == 0.5:
        return 0.0
    return _bisect(lambda t: t_sf(t, df), 1.0 - q, -1.0, 1.0)
