"""compile.nullability: a rule that cannot end unknown gets no COALESCE(rule, FALSE), and every
membership column stays a plain true/false."""

from datetime import datetime

import ibis
import pytest

import segrules
from segrules.compile.nullability import never_null

from helpers import duckdb_shop, spec_text

T = ibis.table({"k": "int64", "x": "float64", "s": "string", "n": "!int64"}, name="t")
COUNT = T.x.fill_null(0)  # what a count or sum over no rows compiles to


@pytest.mark.parametrize("expr, expected", [
    (ibis.literal(1), True),
    (ibis.null(), False),
    (T.x, False),  # a column: nullable, whatever its declared type (outer joins make it so)
    (T.n, False),
    (COUNT, True),
    (ibis.coalesce(T.x, T.k), False),
    (COUNT >= 3, True),
    (T.x >= 3, False),
    ((COUNT * 2) < (COUNT + 1), True),
    (COUNT / 2 > 1, False),  # division: x / 0 is null
    (T.x.isnull(), True),
    (T.s.notnull() & (COUNT == 0), True),
    ((COUNT > 1) | (T.x > 1), False),  # Kleene: false or unknown is unknown
    (~(COUNT > 1), True),
    (COUNT.isin([1, 2]), True),
    (COUNT.between(1, 2), True),
    (T.s.lower().endswith("@x"), False),
    (ibis.literal("A").lower().endswith("a"), True),
    (ibis.ifelse(COUNT > 1, True, False), False),  # not analysed: kept nullable
])
def test_never_null(expr, expected):
    assert never_null(expr) is expected


def test_only_rules_that_can_be_unknown_are_coalesced_and_membership_is_never_null():
    now = datetime(2026, 10, 15, 12)
    spec = segrules.load_text(spec_text({
        "buyers": "count(orders) >= 1",
        "no_paid": "count(orders where status == 'paid') == 0 and email is not null",
        "german": "country == 'DE'",
        "rich": "max(orders.amount) > 100 or segment('buyers')",
        "both": "segment('buyers') and not segment('german')",
    }, schema=False))
    con = duckdb_shop(now, orders=[(1, 0, None, "paid")], email=["a@x", None, "c@x", "d@x"],
                      country=["DE", None, "FR", "FR"])
    wide = spec.evaluate(con, as_of=now)
    coalesced = {name for name in spec.segments
                 if isinstance(wide[name].op().rel.values[name], ibis.expr.operations.Coalesce)}
    assert coalesced == {"german", "rich"}  # a column compared; a max over no rows (or null amounts)
    rows = {r["customer_id"]: r for r in wide.to_pyarrow().to_pylist()}
    assert {k: [rows[k][s] for s in spec.segments] for k in rows} == {
        1: [True, False, True, True, False],
        2: [False, False, False, False, False],  # country null: not german, and not null
        3: [False, True, False, False, False],
        4: [False, True, False, False, False],
    }
