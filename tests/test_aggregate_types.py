"""The result type of every aggregate is pinned, the same on every backend (docs/language.md
"Aggregates"): `avg` is float64 whatever the column (a decimal column too: issue 16 saw DuckDB
average a decimal as a double, PostgreSQL return a numeric that `run --out` could not rescale,
Spark round it), and its value is the exact sum over the count, so the backends agree."""

from __future__ import annotations

import uuid
from decimal import Decimal
from fractions import Fraction

import ibis
import pyarrow as pa
import pytest

import segrules
from segrules.run import materialize

from rfm_helpers import connect

AMOUNTS = {  # customer -> order amounts (decimal(12,2)); 4 has no orders, 5 only a null
    1: ["29.61", "29.62", "29.62"], 2: ["0.01", "0.02"], 3: ["9999999999.99", "0.01", "1.00"], 4: [], 5: [None],
}
AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max", "first", "last")
# the pinned result type per aggregate and column type (docs/language.md)
EXPECTED = {
    "int64": {"count": "int64", "count_distinct": "int64", "sum": "int64", "avg": "float64", "min": "int64",
              "max": "int64", "first": "int64", "last": "int64"},
    "float64": {"count": "int64", "count_distinct": "int64", "sum": "float64", "avg": "float64", "min": "float64",
                "max": "float64", "first": "float64", "last": "float64"},
    "decimal(12, 2)": {"count": "int64", "count_distinct": "int64", "sum": "decimal(38, 2)", "avg": "float64",
                       "min": "decimal(12, 2)", "max": "decimal(12, 2)", "first": "decimal(12, 2)",
                       "last": "decimal(12, 2)"},
}


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def shop(request):
    con = connect(request.param)
    tag = uuid.uuid4().hex[:8]
    names = {"customers": f"agg_c_{tag}", "orders": f"agg_o_{tag}"}
    con.create_table(names["customers"], pa.table({"customer_id": pa.array(list(AMOUNTS), pa.int64())}))
    rows = [(c, i, a) for c, amounts in AMOUNTS.items() for i, a in enumerate(amounts)]
    orders = pa.table({
        "customer_id": pa.array([c for c, _, _ in rows], pa.int64()),
        "ordered_at": pa.array([f"2026-01-0{i + 1}T00:00:00" for _, i, _ in rows]).cast(pa.timestamp("us")),
        "dec": pa.array([None if a is None else Decimal(a) for *_, a in rows], pa.decimal128(12, 2)),
        "int": pa.array([None if a is None else int(Decimal(a) * 100) for *_, a in rows], pa.int64()),
        "flt": pa.array([None if a is None else float(a) for *_, a in rows], pa.float64()),
    })
    con.create_table(names["orders"], orders,
                     schema=ibis.schema({"customer_id": "int64", "ordered_at": "timestamp", "dec": "decimal(12, 2)",
                                         "int": "int64", "flt": "float64"}))
    yield request.param, con, names
    for name in names.values():
        con.drop_table(name, force=True)
    con.disconnect()


def _spec(names: dict) -> str:
    features = "\n".join(f"  {agg}_{col}: {agg}(orders.{col})" for agg in AGGREGATES for col in ("dec", "int", "flt"))
    return (f"version: 1\nname: aggs\nentity: {{table: {names['customers']}, key: customer_id}}\n"
            f"sources:\n  orders: {{table: {names['orders']}, key: customer_id, time: ordered_at}}\n"
            f"features:\n{features}\nsegments:\n  any: {{where: 'count(orders) > 0'}}\n")


def test_aggregate_types_pinned_and_the_same_on_every_backend(shop):
    backend, con, names = shop
    table = materialize(segrules.load_text(_spec(names)).evaluate(con, as_of="2026-02-01"))
    types = {"dec": "decimal(12, 2)", "int": "int64", "flt": "float64"}
    for agg in AGGREGATES:
        for col, declared in types.items():
            expected = EXPECTED[declared][agg]
            got = table.schema.field(f"{agg}_{col}").type
            assert str(ibis.dtype(got)).replace("!", "") == expected, (backend, agg, col, got)


def test_aggregate_types_avg_is_the_exact_sum_over_the_count(shop):
    backend, con, names = shop
    table = materialize(segrules.load_text(_spec(names)).evaluate(con, as_of="2026-02-01"))
    rows = {r["customer_id"]: r for r in table.to_pylist()}
    for customer, amounts in AMOUNTS.items():
        values = [Fraction(a) for a in amounts if a is not None]
        # the exact sum, rounded once to a double, over the count: one IEEE division, the same
        # double on every backend
        exact = float(sum(values, Fraction(0))) / len(values) if values else None
        assert rows[customer]["avg_dec"] == exact, (backend, customer)
        if values:
            assert rows[customer]["avg_int"] == pytest.approx(exact * 100, rel=1e-15)
            assert rows[customer]["avg_flt"] == pytest.approx(exact, rel=1e-12)
        else:
            assert rows[customer]["avg_int"] is None and rows[customer]["avg_flt"] is None
    assert rows[1]["avg_dec"] == 88.85 / 3  # 29.616666...: not rounded to the column's scale (29.62)


def test_aggregate_types_checker_says_avg_is_float64():
    spec = segrules.load_text(_spec({"customers": "c", "orders": "o"}) + (
        "schema:\n  c: {customer_id: int64}\n"
        "  o: {customer_id: int64, ordered_at: timestamp, dec: 'decimal(12,2)', int: int64, flt: float64}\n"))
    checked = spec.check()
    assert {checked.feature_types[f"avg_{c}"].is_floating() for c in ("dec", "int", "flt")} == {True}
