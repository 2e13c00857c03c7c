"""compile.to_ibis.float_literal: a number in a rule reaches every backend as exactly the binary64
the language read. Ibis writes floats as bare text, which DuckDB reads as a DECIMAL and converts
with an error of one unit in the last place for some 17-digit numbers."""

from __future__ import annotations

from datetime import datetime

import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segrules
from segrules.compile.to_ibis import float_literal

from helpers import duckdb_shop, spec_text
from rfm_helpers import BACKENDS, connect

FINITE = st.floats(allow_nan=False, allow_infinity=False, width=64)


@pytest.fixture(scope="module", params=BACKENDS)
def con(request):
    backend = connect(request.param)
    yield backend
    backend.disconnect()


@settings(max_examples=60, deadline=None)
@given(values=st.lists(FINITE, min_size=1, max_size=20))
def test_float_literal_reads_back_as_the_same_binary64(con, values):
    row = con.execute(ibis.memtable({"i": [0]}).select(**{f"v{i}": float_literal(v) for i, v in enumerate(values)}))
    assert [float(row[f"v{i}"][0]) for i in range(len(values))] == [v + 0.0 for v in values]


def test_float_literal_is_bare_up_to_15_digits_and_a_text_cast_beyond():
    t = ibis.table({"x": "float64"}, name="t")
    assert ibis.to_sql(t.filter(t.x == float_literal(0.1)), dialect="duckdb").endswith('"t0"."x" = 0.1')
    assert "CAST('0.30000000000000004' AS DOUBLE)" in ibis.to_sql(
        t.filter(t.x == float_literal(0.1 + 0.2)), dialect="duckdb")


def test_a_rule_with_a_17_digit_number_matches_the_row_with_that_double():
    """0.0009274099999999999 is one of the numbers DuckDB reads wrong as a bare DECIMAL literal."""
    now = datetime(2026, 10, 15, 12)
    value = 0.0009274099999999999
    spec = segrules.load_text(spec_text({"exact": f"max(orders.amount) == {value!r}"}, schema=False))
    con = duckdb_shop(now, orders=[(1, 1, value, "paid"), (2, 1, 0.00092741, "paid")])
    rows = {r["customer_id"]: r["exact"] for r in spec.evaluate(con, as_of=now).to_pyarrow().to_pylist()}
    assert rows == {1: True, 2: False, 3: False, 4: False}
