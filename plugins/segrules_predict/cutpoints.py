"""Where a tree's split falls on the raw column, exactly.

scikit-learn walks a tree on ``float32((x - mean) / scale)`` (the scaler's output in binary64, cast
to float32 by the tree's input check) and sends a row left when that is ``<= threshold``. Rounding
to float32 moves values up to ~1e-7 relative, so comparing the raw double column with an
un-scaled threshold sends values near a split the other way. But each step — a correctly rounded
subtraction, a division by a positive number, the cast — is monotone non-decreasing in ``x``, so
the rows that go left are exactly ``x <= cut`` for one binary64 number ``cut``, found here by
bisection over the ordered binary64 numbers. SQL then compares the raw (imputed) double with
``cut``: no casts, no rounding, the same side as scikit-learn for every finite input.
"""

from __future__ import annotations

import math
import struct

import numpy as np

_SIGN = 0x7FFF_FFFF_FFFF_FFFF
_MAX = float(np.finfo(np.float64).max)


def _key(x: float) -> int:
    """An integer that orders binary64 numbers as their values (+0 and -0 share 0)."""
    bits = struct.unpack("<q", struct.pack("<d", x))[0]
    return bits if bits >= 0 else -(bits & _SIGN)


def _value(key: int) -> float:
    bits = key if key >= 0 else (-key) | (1 << 63)
    return float(struct.unpack("<d", struct.pack("<Q", bits))[0])


def goes_left(x: float, mean: float, scale: float, threshold: float) -> bool:
    """scikit-learn's decision at a split on a scaled numeric feature, for the raw value ``x``."""
    with np.errstate(over="ignore", invalid="ignore"):
        encoded = np.float32((np.float64(x) - np.float64(mean)) / np.float64(scale))
    return float(encoded) <= threshold


def cut(mean: float, scale: float, threshold: float) -> float | None:
    """The largest finite ``x`` that goes left; ``math.inf`` when every finite value goes left,
    None when none does."""
    if not scale > 0:
        raise ValueError(f"a scale must be positive, not {scale!r}")
    if goes_left(_MAX, mean, scale, threshold):
        return math.inf
    if not goes_left(-_MAX, mean, scale, threshold):
        return None
    lo, hi = _bracket(mean, scale, threshold)
    while hi - lo > 1:  # invariant: _value(lo) goes left, _value(hi) does not
        mid = (lo + hi) // 2
        if goes_left(_value(mid), mean, scale, threshold):
            lo = mid
        else:
            hi = mid
    return _value(lo)


def _bracket(mean: float, scale: float, threshold: float) -> tuple[int, int]:
    """Keys ``lo < hi`` around the cut, searched outwards from the un-rounded estimate."""
    lo_limit, hi_limit = _key(-_MAX), _key(_MAX)
    guess = threshold * scale + mean
    start = _key(guess) if math.isfinite(guess) else 0
    start = min(max(start, lo_limit), hi_limit)
    step = 1
    if goes_left(_value(start), mean, scale, threshold):
        lo = start
        while True:
            hi = min(lo + step, hi_limit)
            if not goes_left(_value(hi), mean, scale, threshold):
                return lo, hi
            lo, step = hi, step * 2
    hi = start
    while True:
        lo = max(hi - step, lo_limit)
        if goes_left(_value(lo), mean, scale, threshold):
            return lo, hi
        hi, step = lo, step * 2
