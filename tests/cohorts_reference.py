"""An independent pandas implementation of cohort retention, for the differential tests of the
cohorts plugin. It uses pandas periods (``to_period``) and ISO calendars, not the plugin's epoch
arithmetic."""

from __future__ import annotations

import pandas as pd

FREQ = {"day": "D", "week": "W-SUN", "month": "M"}  # W-SUN: weeks ending on Sunday, i.e. Monday..Sunday


def label(ts: pd.Timestamp, grain: str) -> str:
    if grain == "day":
        return ts.strftime("%Y-%m-%d")
    if grain == "month":
        return ts.strftime("%Y-%m")
    year, week, _ = ts.isocalendar()
    return f"{year}-W{week:02d}"


def _period_number(times: pd.Series, grain: str) -> pd.Series:
    return pd.Series([t.to_period(FREQ[grain]).ordinal for t in times], index=times.index, dtype="int64")


def per_entity(starts: pd.DataFrame, activity: pd.DataFrame, grain: str, periods: int, retention: str,
               now: pd.Timestamp) -> pd.DataFrame:
    """Per entity with a start at or before now: ``key``, ``cohort`` (label), ``p`` (period
    number) and ``retained_k`` for k in 0..periods (None when period k has not ended)."""
    s = starts[starts["start"].notna() & (starts["start"] <= now)].copy()
    s["p"] = _period_number(s["start"], grain)
    s["cohort"] = s["start"].map(lambda t: label(t, grain))
    a = activity[activity["time"].notna() & (activity["time"] <= now) & activity["ok"].fillna(False).astype(bool)]
    a = a.assign(ap=_period_number(a["time"], grain))
    j = a.merge(s[["key", "p"]], on="key")
    j["k"] = j["ap"] - j["p"]
    j = j[j["k"] >= 0]
    now_p = now.to_period(FREQ[grain]).ordinal
    ks = j.groupby("key")["k"].apply(set).to_dict()
    columns = {}
    for k in range(periods + 1):
        def value(row, k=k):
            if now_p - row["p"] <= k:  # period k has not ended
                return None
            mine = ks.get(row["key"], set())
            return (max(mine, default=-1) >= k) if retention == "rolling" else (k in mine)
        columns[f"retained_{k}"] = s.apply(value, axis=1) if len(s) else pd.Series(dtype=object)
    return pd.concat([s, pd.DataFrame(columns, index=s.index)], axis=1)  # one concat: no fragmented frame


def matrix(starts, activity, grain, periods, retention, now) -> dict[str, tuple[int, list[int | None]]]:
    """cohort label -> (size, active count per period or None when not ended)."""
    s = per_entity(starts, activity, grain, periods, retention, now)
    out = {}
    for cohort, group in s.groupby("cohort"):
        counts = []
        for k in range(periods + 1):
            values = group[f"retained_{k}"]
            counts.append(None if values.isna().all() else int(sum(bool(v) for v in values if v is not None)))
        out[cohort] = (len(group), counts)
    return out
