"""An independent RFM in plain pandas, written from the definitions in docs/plugins/rfm.md (not
from the plugin's code): the oracle of the RFM differential tests."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pandas as pd

# The default label map as the grid printed in docs/plugins/rfm.md: R (5 down to 1) x the
# combined F/M score (f + m) / 2 in the bands 1-1.5, 2-2.5, 3-3.5, 4-5.
GRID = {
    5: ("New Customers", "Potential Loyalist", "Loyal Customers", "Champions"),
    4: ("Promising", "Potential Loyalist", "Loyal Customers", "Champions"),
    3: ("About To Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk"),
    1: ("Lost", "Lost", "At Risk", "Can't Lose Them"),
}


def grid_label(r: int, f: int, m: int) -> str:
    fm = (f + m) / 2
    band = 0 if fm < 2 else 1 if fm < 3 else 2 if fm < 4 else 3
    return GRID[r][band]


def quantile_scores(values: pd.Series, bins: int, lower_is_better: bool = False) -> pd.Series:
    """1 + floor(bins * below / N), below = how many entities have a strictly worse value."""
    n = len(values)
    below = ((-values) if lower_is_better else values).rank(method="min").astype(int) - 1
    return (below * bins) // n + 1


def threshold_scores(values: pd.Series, cuts, bins: int, lower_is_better: bool = False) -> pd.Series:
    exceeded = values.apply(lambda v: sum(v > c for c in cuts))
    return bins - exceeded if lower_is_better else exceeded + 1


def reference_rfm(customers, orders: pd.DataFrame, now: datetime, *, window_days: int | None = None,
                  status: str | None = "paid", bins: int = 5, thresholds: dict | None = None,
                  label=grid_label, no_purchase: str = "No purchases") -> pd.DataFrame:
    """``orders``: customer_id, ordered_at, amount, status. One row per customer of ``customers``."""
    o = orders[orders.customer_id.notna() & orders.ordered_at.notna() & (orders.ordered_at <= now)]
    if window_days is not None:
        o = o[o.ordered_at > now - timedelta(days=window_days)]
    if status is not None:
        o = o[o.status == status]
    o = o.assign(micros=o.amount.fillna(0).astype(float).mul(1_000_000).round().astype("int64"))
    g = o.groupby("customer_id")
    buyers = pd.DataFrame({"last": g.ordered_at.max(), "frequency": g.size(), "micros": g.micros.sum()})
    buyers = buyers.rename_axis("customer_id").reset_index()
    buyers["customer_id"] = buyers.customer_id.astype(int)
    buyers["recency_days"] = [(now - t) // timedelta(days=1) for t in buyers["last"]]
    buyers["monetary"] = buyers.micros / 1_000_000
    if len(buyers):
        if thresholds is None:
            buyers["r"] = quantile_scores(buyers.recency_days, bins, lower_is_better=True)
            buyers["f"] = quantile_scores(buyers.frequency, bins)
            buyers["m"] = quantile_scores(buyers.monetary, bins)
        else:
            buyers["r"] = threshold_scores(buyers.recency_days, thresholds["recency_days"], bins, True)
            buyers["f"] = threshold_scores(buyers.frequency, thresholds["frequency"], bins)
            buyers["m"] = threshold_scores(buyers.monetary, thresholds["monetary"], bins)
    result = {cid: (None, 0, 0.0, None, None, None, None, no_purchase) for cid in customers}
    for row in buyers.itertuples() if len(buyers) else ():
        r, f, m = int(row.r), int(row.f), int(row.m)
        result[row.customer_id] = (int(row.recency_days), int(row.frequency), float(row.monetary), r, f, m,
                                   f"{r}{f}{m}", label(r, f, m))
    return pd.DataFrame.from_dict(result, orient="index", columns=[
        "recency_days", "frequency", "monetary", "r", "f", "m", "score", "label"])


def same(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if isinstance(a, float) or isinstance(b, float):
        return b is not None and abs(float(a) - float(b)) <= 1e-6 * max(1.0, abs(float(a)))
    return a == b


FIELDS = ["recency_days", "frequency", "monetary", "r", "f", "m", "score", "label"]


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Row by row, value by value (floats to 1e-6 relative, None == NaN)."""
    assert list(got.index) == list(want.index)
    bad = []
    for col in FIELDS:
        for cid, g, w in zip(want.index, got[col].tolist(), want[col].tolist()):
            if not same(w, None if g is None or (isinstance(g, float) and math.isnan(g)) else g):
                bad.append((cid, col, g, w))
    assert not bad, f"{len(bad)} differences, first: {bad[:5]}"
