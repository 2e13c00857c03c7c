"""compile.relations.project: the same relation as Table.select, built with one graph walk."""

import ibis

from segrules.compile.relations import project

T = ibis.table({"k": "int64", "x": "float64", "s": "string"}, name="t")


def test_plain_columns_give_the_projection_select_gives():
    flag = (T.x > 1) | T.s.isnull()
    columns = {"k": T.k, "flag": flag, "again": flag & T.s.endswith("a"), "lit": ibis.literal(False),
               "named": (T.x * 2).name("ignored")}
    fast = project(T, columns)
    assert fast.equals(T.select(**columns))
    assert fast.columns == ("k", "flag", "again", "lit", "named")


def test_reductions_and_analytics_are_rewritten_like_select():
    for value in (T.x.sum(), T.x > T.x.mean(), T.x.percent_rank()):
        columns = {"k": T.k, "v": value}
        fast = project(T, columns)
        assert fast.equals(T.select(**columns))
        assert " OVER " in ibis.to_sql(fast, dialect="duckdb")  # a window function, not a bare reduction
