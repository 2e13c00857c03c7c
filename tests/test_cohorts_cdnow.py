"""Cohort retention on real purchases: CDNOW (69,659 purchases of 23,570 customers, January 1997 to
June 1998; see tests/test_rfm_cdnow.py for the source), cohorts by the month and by the ISO week of
the first purchase, against the pandas reference, on DuckDB and PostgreSQL."""

from __future__ import annotations

import pandas as pd
import pytest

import segrules
from segrules_cohorts.report import compute_cohort

import cohorts_reference as ref
from test_rfm_cdnow import data, shop  # noqa: F401  the CDNOW tables on each backend (fixtures)

AS_OF = pd.Timestamp("1998-07-01")


@pytest.mark.parametrize("grain, periods, retention", [("month", 12, "classic"), ("month", 12, "rolling"),
                                                       ("week", 10, "classic")])
def test_cohorts_cdnow_equals_pandas_reference(shop, data, grain, periods, retention):
    con, customers, orders, _ = shop
    text = (f"version: 1\nname: cdnow\nentity: {{table: {customers}, key: customer_id}}\n"
            f"sources:\n  orders: {{table: {orders}, key: customer_id, time: date}}\n"
            f"cohorts:\n  first_purchase:\n    start: first(orders.date)\n    grain: {grain}\n"
            f"    activity: orders where dollar_value > 0\n    periods: {periods}\n    retention: {retention}\n"
            "segments:\n  any: {where: 'true'}\n")
    report = compute_cohort(segrules.load_text(text, "cdnow.yaml"), con, "first_purchase", as_of=AS_OF)
    starts = data.groupby("customer_id", as_index=False)["date"].min().rename(
        columns={"customer_id": "key", "date": "start"})
    activity = data.rename(columns={"customer_id": "key", "date": "time"}).assign(ok=data.dollar_value > 0)
    want = ref.matrix(starts, activity, grain, periods, retention, AS_OF)
    got = {r.label: (r.size, list(r.active)) for r in report.rows}
    assert got == want
    assert report.entities == 23_570
    if grain == "month":  # CDNOW's customers all made their first purchase in the first quarter of 1997
        assert list(got) == ["1997-01", "1997-02", "1997-03"]
