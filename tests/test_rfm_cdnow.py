"""RFM on real transactions: the CDNOW data set, against the pandas reference, on DuckDB and
PostgreSQL.

Data: ``CDNOW_master.txt`` as shipped by the PyPI package ``lifetimes`` 0.11.3
(``lifetimes/datasets/CDNOW_master.txt``): 69,659 purchases of 23,570 customers of the online CD
shop CDNOW, January 1997 to June 1998 (customer_id, date, number_of_cds, dollar_value), from
Fader, Hardie and Lee, "RFM and CLV: Using Iso-Value Curves for Customer Base Analysis", Journal
of Marketing Research 42(4), 2005. The file is read from the installed package without importing it.
Most customers bought once (frequency ties), many on the same day (recency ties), and 80
purchases have a dollar value of 0, left out here by ``where: dollar_value > 0`` like refunds.
"""

from __future__ import annotations

import importlib.util
import uuid
from datetime import datetime
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa
import pytest

import segrules
from rfm_helpers import BACKENDS, connect
from rfm_reference import assert_same, reference_rfm


def cdnow() -> pd.DataFrame:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the test extra installs lifetimes==0.11.3 for its CDNOW data")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "CDNOW_master.txt"
    df = pd.read_csv(path, sep=r"\s+", dtype={"date": str})
    df["date"] = pd.to_datetime(df["date"], format="%Y%m%d")
    return df


@pytest.fixture(scope="module")
def data():
    return cdnow()


@pytest.fixture(scope="module", params=BACKENDS)
def shop(request, data):
    con = connect(request.param)
    tag = uuid.uuid4().hex[:10]
    customers, orders = f"cdnow_c_{tag}", f"cdnow_o_{tag}"
    ids = sorted(data.customer_id.unique())
    con.create_table(customers, pa.table({"customer_id": pa.array(ids, pa.int64())}))
    con.create_table(orders, pa.table({
        "customer_id": pa.array(data.customer_id, pa.int64()),
        "date": pa.array(data["date"].dt.date, pa.date32()),
        "number_of_cds": pa.array(data.number_of_cds, pa.int64()),
        "dollar_value": pa.array(data.dollar_value, pa.float64())}))
    yield con, customers, orders, ids
    for t in (orders, customers):
        con.drop_table(t, force=True)


def spec(customers, orders, window=None):
    text = (f"version: 1\nname: cdnow\nentity: {{table: {customers}, key: customer_id}}\n"
            f"sources:\n  purchases: {{table: {orders}, key: customer_id, time: date}}\n"
            "rfm:\n  source: purchases\n  amount: dollar_value\n  where: dollar_value > 0\n"
            + (f"  window: {window}\n" if window else "")
            + "segments:\n  champions: {where: rfm.label == 'Champions'}\n")
    return segrules.load_text(text, "cdnow.yaml")


@pytest.mark.parametrize("as_of, window_days", [(datetime(1998, 7, 1), None), (datetime(1997, 12, 31), 180)])
def test_rfm_cdnow_matches_pandas(shop, data, as_of, window_days):
    con, customers, orders, ids = shop
    s = spec(customers, orders, f"{window_days}d" if window_days else None)
    got = pd.DataFrame(s.namespace(con, "rfm", as_of=as_of).to_pyarrow().to_pylist()).set_index("customer_id")
    got = got.sort_index()
    ref_orders = pd.DataFrame({"customer_id": data.customer_id, "ordered_at": data["date"],
                               "amount": data.dollar_value,
                               "status": data.dollar_value.map(lambda v: "paid" if v > 0 else "free")})
    want = reference_rfm(ids, ref_orders, as_of, window_days=window_days, status="paid")
    assert_same(got, want)
    buyers = want[want.r.notna()]
    # the data really has ties: most buyers bought once, and all of them share f = 1
    assert (buyers.frequency == 1).mean() > 0.3 and buyers[buyers.frequency == 1].f.nunique() == 1
    assert want.label.nunique() >= 10
    members = s.evaluate(con, as_of=as_of, features=False).to_pyarrow().to_pandas()
    assert set(members.loc[members.champions, "customer_id"]) == set(want.index[want.label == "Champions"])
