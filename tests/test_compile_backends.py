"""compile.backends: DuckDB's arg_min/arg_max for first/last, the portable ops elsewhere."""

from datetime import datetime

import ibis
import ibis.expr.datatypes as dt

import segrules
from helpers import duckdb_shop, spec_text
from segrules.compile.backends import by_time

NOW = datetime(2026, 11, 1, 12, 0, 0)
RULES = {"first_paid": "first(orders.status) == 'paid'",
         "last_refunded": "last(orders.status where amount > 10 within 30d) == 'refunded'"}
# (customer, days ago, amount, status): first and last skip null statuses; 5.0 is not > 10;
# -1 days ago is after now, so ignored
ORDERS = [(1, 40, 5.0, "paid"), (1, 3, 50.0, "refunded"), (1, 1, 50.0, None),
          (2, 50, None, None), (2, 20, 20.0, "refunded"), (2, 2, 5.0, "paid"),
          (3, -1, 99.0, "paid"), (3, 10, 99.0, "cancelled")]


def test_translation_table():
    assert by_time("duckdb", "first", dt.string, dt.timestamp) is not None
    assert by_time("duckdb", "sum", dt.string, dt.timestamp) is None
    assert by_time("postgres", "last", dt.string, dt.timestamp) is None
    assert by_time(None, "first", dt.string, dt.timestamp) is None


def test_duckdb_gets_arg_min_and_max_with_the_portable_results():
    con = duckdb_shop(NOW, orders=ORDERS)
    spec = segrules.load_text(spec_text(RULES, schema=False))
    bound_sql = spec.to_sql(con=con, as_of=NOW)
    assert "ARG_MIN(" in bound_sql and "ARG_MAX(" in bound_sql and "ORDER BY" not in bound_sql
    offline = segrules.load_text(spec_text(RULES)).compile(as_of=NOW)  # no target: portable ops
    assert "ARG_MIN(" not in ibis.to_sql(offline, dialect="duckdb")
    # the SQL is for the dialect asked for, whatever the connection
    assert "ARG_MIN(" not in spec.to_sql("postgres", con=con, as_of=NOW)
    assert "ARG_MIN(" in segrules.load_text(spec_text(RULES)).to_sql("duckdb", as_of=NOW)
    fast = spec.evaluate(con, as_of=NOW).to_pyarrow().to_pylist()
    portable = con.to_pyarrow(offline.unbind()).to_pylist()
    assert sorted(fast, key=lambda r: r["customer_id"]) == sorted(portable, key=lambda r: r["customer_id"])
    members = {name: {r["customer_id"] for r in fast if r[name]} for name in RULES}
    assert members == {"first_paid": {1}, "last_refunded": {1, 2}}
