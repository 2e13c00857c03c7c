"""Shared by the RFM tests: backends (DuckDB always, PostgreSQL from SEGRULES_POSTGRES_URL, required
under CI=true), tables under unique names, and a spec over them."""

from __future__ import annotations

import os
import uuid

import ibis
import pandas as pd
import pyarrow as pa
import pytest

import segrules

POSTGRES_URL = os.environ.get("SEGRULES_POSTGRES_URL")
BACKENDS = ["duckdb", "postgres"]


def connect(name: str):
    if name == "duckdb":
        return ibis.duckdb.connect()
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            raise RuntimeError("CI=true but SEGRULES_POSTGRES_URL is not set: .ci/run must start PostgreSQL")
        pytest.skip("set SEGRULES_POSTGRES_URL to run the PostgreSQL tests")
    return ibis.connect(POSTGRES_URL)


class Shop:
    """``customers`` and ``orders`` tables (unique names, so parallel runs on one PostgreSQL do
    not meet) and specs over them."""

    def __init__(self, con, customers, orders: pd.DataFrame, order_types: dict | None = None):
        self.con = con
        tag = uuid.uuid4().hex[:10]
        self.customers_table, self.orders_table = f"rfm_c_{tag}", f"rfm_o_{tag}"
        con.create_table(self.customers_table, pd.DataFrame({"customer_id": list(customers)}),
                         schema=ibis.schema({"customer_id": "int64"}))
        types = {"customer_id": "int64", "ordered_at": "timestamp", "amount": "float64", "status": "string"}
        types.update(order_types or {})
        schema = ibis.schema(types)
        con.create_table(self.orders_table, pa.Table.from_pandas(orders[list(types)], schema=schema.to_pyarrow(),
                                                                 preserve_index=False), schema=schema)

    def spec(self, rfm: str, segments: str = "  any: {where: rfm.frequency >= 0}\n"):
        text = (f"version: 1\nname: t\nentity: {{table: {self.customers_table}, key: customer_id}}\n"
                f"sources:\n  orders: {{table: {self.orders_table}, key: customer_id, time: ordered_at}}\n"
                f"{rfm}segments:\n{segments}")
        return segrules.load_text(text, "t.yaml")

    def rfm(self, rfm: str, as_of) -> pd.DataFrame:
        table = self.spec(rfm).namespace(self.con, "rfm", as_of=as_of).to_pyarrow().to_pylist()
        return pd.DataFrame(table).set_index("customer_id").sort_index()

    def drop(self):
        for t in (self.orders_table, self.customers_table):
            self.con.drop_table(t, force=True)
