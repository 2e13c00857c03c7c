"""The numbers of ``segrules rfm``: per label and per R x F cell, aggregated in the database from
the ``rfm`` namespace, and the campaign suggestions they are ranked with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from segrules.plugin import SpecError, load_yaml

from .labels import default_data


@dataclass(frozen=True)
class RfmReport:
    spec: str
    as_of: datetime
    bins: int
    labels: pd.DataFrame  # label, customers, share, revenue, revenue_share, mean recency/frequency/monetary
    grid: pd.DataFrame  # r, f, customers, mean_monetary (buyers only)
    customers: int
    revenue: float
    campaigns: dict[str, dict]
    descriptions: dict[str, str]

    def recommendations(self) -> pd.DataFrame:
        """Segments with revenue, ranked by revenue at stake (what they spent in the window), each
        with its campaign suggestion."""
        rows = self.labels[self.labels.revenue > 0].sort_values("revenue", ascending=False)
        out = rows[["label", "customers", "revenue", "revenue_share"]].copy()
        out["goal"] = [self.campaigns.get(label, {}).get("goal", "") for label in out.label]
        out["campaign"] = [self.campaigns.get(label, {}).get("campaign", "") for label in out.label]
        return out.reset_index(drop=True)


def load_campaigns(path: str | Path | None = None) -> dict[str, dict]:
    """Campaign suggestions per label: the plugin's ``data/campaigns.yaml`` or the file ``path``."""
    if path is None:
        text = resources.files("segrules_rfm").joinpath("data/campaigns.yaml").read_text("utf-8")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"--campaigns: cannot read {path}: {exc.strerror}", code="SR100") from None
    data = load_yaml(text, str(path or "campaigns.yaml"))[0] or {}  # positioned errors, no tags or alias bombs
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise SpecError(f"--campaigns {path}: expected label: {{goal: ..., campaign: ...}} entries", code="SR100")
    return {str(k): {"goal": str(v.get("goal", "")), "campaign": str(v.get("campaign", ""))} for k, v in data.items()}


def compute_report(spec, con, *, as_of=None, params=None, campaigns: dict | None = None) -> RfmReport:
    """One grouped query over the ``rfm`` values (label x r x f), rolled up here."""
    now = spec.now(as_of)
    t = spec.namespace(con, "rfm", as_of=now, params=params)
    cells = t.group_by(["label", "r", "f"]).aggregate(
        customers=t.count(), revenue=t.monetary.sum(), recency=t.recency_days.sum(),
        frequency=t.frequency.sum()).to_pandas()
    config = spec.section("rfm")
    _, _, fields = spec.check(con).namespaces["rfm"]
    order = list(fields["label"].values)
    by_label = cells.groupby("label", sort=False)[["customers", "revenue", "recency", "frequency"]].sum()
    by_label = by_label.reindex(order, fill_value=0).astype(float).reset_index()
    customers, revenue = int(by_label.customers.sum()), float(by_label.revenue.sum())
    buyers = cells[cells.r.notna()].groupby("label")["customers"].sum().reindex(order, fill_value=0)
    buyers = buyers.to_numpy(dtype=float)
    labels = pd.DataFrame({
        "label": by_label.label, "customers": by_label.customers.astype(int),
        "share": by_label.customers / customers if customers else 0.0,
        "revenue": by_label.revenue.astype(float),
        "revenue_share": by_label.revenue / revenue if revenue else 0.0,
        "mean_recency_days": (by_label.recency / np.where(buyers > 0, buyers, np.nan)),
        "mean_frequency": (by_label.frequency / by_label.customers).where(by_label.customers > 0),
        "mean_monetary": (by_label.revenue / by_label.customers).where(by_label.customers > 0),
    })
    grid = cells[cells.r.notna()].groupby(["r", "f"])[["customers", "revenue"]].sum().reset_index()
    grid["r"], grid["f"] = grid.r.astype(int), grid.f.astype(int)
    grid["mean_monetary"] = grid.revenue / grid.customers
    descriptions = default_data()["labels"] if config.labels is None else {}
    return RfmReport(spec.name, now, config.bins, labels, grid.drop(columns="revenue"), customers, revenue,
                     campaigns if campaigns is not None else load_campaigns(),
                     {k: v.get("description", "") for k, v in descriptions.items()})


def grid_matrix(report: RfmReport, column: str):
    """``column`` per cell as rows r = bins..1 (best on top) and columns f = 1..bins; 0/NaN empty."""
    full = pd.MultiIndex.from_product([range(report.bins, 0, -1), range(1, report.bins + 1)], names=["r", "f"])
    values = report.grid.set_index(["r", "f"])[column].reindex(full)
    return values.to_numpy().reshape(report.bins, report.bins)
