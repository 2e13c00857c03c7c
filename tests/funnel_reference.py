"""A plain-Python funnel, written from the definition in docs/plugins/funnels.md without the
plugin's code: the oracle of tests/test_funnels_differential.py.

For every user: the times of the rows of each step (as of ``now``, in the window, matching);
every distinct step-1 time (only the earliest with ``entry: first``) is an attempt; an attempt's
chain takes, step after step, the earliest row strictly after the previous one and at most
``convert`` after its step-1 time; the user reaches the longest chain's length, and the chain of
the earliest attempt of that length gives the times between steps. ``reached`` is also checked
against every choice of rows (:func:`reached_by_search`)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2_contingency


@dataclass(frozen=True)
class RefStep:
    source: str  # a key of the tables
    match: Callable[[dict], bool | None]  # the condition over a row (None: unknown, not a match)


def step_times(step: RefStep, user, tables: dict[str, list[dict]], now: datetime, within: timedelta | None):
    out = []
    for row in tables[step.source]:
        t = row["t"]
        if row["user_id"] != user or t is None or t > now:
            continue
        if within is not None and not t > now - within:
            continue
        if step.match(row) is True:
            out.append(t)
    return out


def user_chain(times: Sequence[Sequence[datetime]], convert: timedelta | None, entry: str):
    """(reached, chain times) of one user."""
    starts = sorted(set(times[0]))
    if entry == "first":
        starts = starts[:1]
    best = (0, [])
    for t1 in starts:
        chain = [t1]
        for later in times[1:]:
            options = [t for t in later if t > chain[-1] and (convert is None or t <= t1 + convert)]
            if not options:
                break
            chain.append(min(options))
        if len(chain) > best[0]:
            best = (len(chain), chain)
    return best


def reached_by_search(times: Sequence[Sequence[datetime]], convert: timedelta | None, entry: str) -> int:
    """The furthest step over every choice of rows (exponential: small data only)."""
    starts = sorted(set(times[0]))[:1] if entry == "first" else sorted(set(times[0]))
    best = 1 if starts else 0
    for depth in range(2, len(times) + 1):
        for chain in itertools.product(starts, *times[1:depth]):
            ordered = all(b > a for a, b in zip(chain, chain[1:]))
            if ordered and (convert is None or chain[-1] <= chain[0] + convert):
                best = depth
    return best


def funnel(users: dict, steps: list[RefStep], tables, now, convert=None, within=None, entry="any"):
    """user -> (reached, chain) for every user of ``users``."""
    out = {}
    for user in users:
        times = [step_times(s, user, tables, now, within) for s in steps]
        out[user] = user_chain(times, convert, entry)
        assert out[user][0] == reached_by_search(times, convert, entry)
    return out


def report(users: dict, paths: dict, k: int, by: Callable[[object], object] | None = None) -> dict:
    """Counts per step, quantiles (numpy, linear interpolation) of the seconds from the previous
    step, and for ``by`` the counts per group and scipy's chi-square on the raw rows."""
    started = {u: p for u, p in paths.items() if p[0] >= 1}
    counts = [sum(1 for p in started.values() if p[0] >= j) for j in range(1, k + 1)]
    quantiles = {}
    for j in range(2, k + 1):
        gaps = [(p[1][j - 1] - p[1][j - 2]).total_seconds() for p in started.values() if p[0] >= j]
        quantiles[j] = (float(np.quantile(gaps, 0.5)), float(np.quantile(gaps, 0.9))) if gaps else (None, None)
    out = {"counts": counts, "quantiles": quantiles}
    if by is not None:
        rows = pd.DataFrame([{"group": "(null)" if by(u) is None else str(by(u)), "reached": p[0]}
                             for u, p in started.items()])
        groups = {}
        if len(rows):
            for g, part in rows.groupby("group"):
                groups[g] = tuple(int((part.reached >= j).sum()) for j in range(1, k + 1))
        out["groups"] = groups
        out["conversion_test"] = scipy_test(rows, k) if len(rows) else None
    return out


def scipy_test(rows: pd.DataFrame, k: int):
    """scipy on the raw rows: converted (reached the last step) vs not, by group; None when a
    margin is degenerate (one group, or all groups alike)."""
    table = pd.crosstab(rows.reached >= k, rows.group)
    if table.shape[0] < 2 or table.shape[1] < 2:
        return None
    result = chi2_contingency(table.to_numpy(), correction=False)
    return float(result.statistic), int(result.dof), float(result.pvalue)
