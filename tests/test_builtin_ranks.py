"""percent_rank, ntile and top_n: against plain-Python definitions (ties, nulls, random data) on
DuckDB and PostgreSQL, over the whole evaluated population in every command, nested, and every
misuse as a positioned error."""

from __future__ import annotations

import csv
from datetime import datetime

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segrules
from builtin_helpers import backend, one_table_spec, positioned_error, put_table  # noqa: F401 (a fixture)

NOW = datetime(2026, 11, 1, 12)


# --- the definitions, in plain Python -------------------------------------------------------------
def ref_percent_rank(values: dict) -> dict:
    """(rank - 1) / (n - 1) among the n non-null values, rank = 1 + how many are smaller."""
    present = [v for v in values.values() if v is not None]
    n = len(present)
    return {k: None if v is None else 0.0 if n == 1 else sum(x < v for x in present) / (n - 1)
            for k, v in values.items()}


def ref_ntile(values: dict, tiles: int) -> dict:
    """SQL NTILE over the non-null values sorted by (value, key): the first n % tiles tiles hold
    n // tiles + 1 rows, the others n // tiles."""
    order = sorted((v, k) for k, v in values.items() if v is not None)
    size, extra = divmod(len(order), tiles)
    out = {k: None for k, v in values.items() if v is None}
    i = 0
    for tile in range(1, tiles + 1):
        for _ in range(size + (tile <= extra)):
            out[order[i][1]] = tile
            i += 1
    return out


def ref_top_n(values: dict, n: int) -> dict:
    """Among the n largest, ties all in: 1 + how many are larger <= n; null is never in."""
    present = [v for v in values.values() if v is not None]
    return {k: v is not None and 1 + sum(x > v for x in present) <= n for k, v in values.items()}


def test_ranks_reference_examples():
    values = {1: 10, 2: 20, 3: 20, 4: None, 5: 30}
    assert ref_percent_rank(values) == {1: 0.0, 2: 1 / 3, 3: 1 / 3, 4: None, 5: 1.0}
    assert ref_ntile(values, 3) == {1: 1, 2: 1, 3: 2, 4: None, 5: 3}
    assert ref_top_n(values, 2) == {1: False, 2: True, 3: True, 4: False, 5: True}
    assert ref_percent_rank({1: 5}) == {1: 0.0}


# --- the database against the definitions ---------------------------------------------------------
FEATURES = {"pr": "percent_rank(v)", "nt": "ntile(v, $n)", "top": "top_n(v, $n)"}


def evaluate(con, keys, values, n: int, dtype=pa.int64(), **features):
    table = put_table(con, pa.table({"id": pa.array(keys, pa.int64()), "v": pa.array(values, dtype)}), "ranks")
    spec = segrules.load_text(one_table_spec(table, "id", features or FEATURES, params=f"{{n: {n}}}"))
    return {r["id"]: r for r in spec.evaluate(con, as_of=NOW).to_pyarrow().to_pylist()}


@st.composite
def populations(draw):
    size = draw(st.integers(0, 25))
    keys = draw(st.lists(st.integers(-10**12, 10**12), min_size=size, max_size=size, unique=True))
    values = draw(st.lists(st.none() | st.integers(-3, 3), min_size=size, max_size=size))  # many ties
    return keys, values, draw(st.integers(1, 7))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(populations())
def test_ranks_match_the_definitions(backend, population):
    keys, values, n = population
    rows = evaluate(backend, keys, values, n)
    by_key = dict(zip(keys, values))
    assert sorted(rows) == sorted(keys)
    for name, expected in (("pr", ref_percent_rank(by_key)), ("nt", ref_ntile(by_key, n)), ("top", ref_top_n(by_key, n))):
        got = {k: r[name] for k, r in rows.items()}
        assert got == pytest.approx(expected) if name == "pr" else got == expected, name


def test_ranks_of_times_floats_and_aggregates(backend):
    stamps = [datetime(2026, 1, d) for d in (3, 1, 2)] + [None]
    rows = evaluate(backend, [1, 2, 3, 4], stamps, 2, pa.timestamp("us"))
    assert [rows[k]["pr"] for k in (1, 2, 3, 4)] == [1.0, 0.0, 0.5, None]
    assert [rows[k]["top"] for k in (1, 2, 3, 4)] == [True, False, True, False]
    rows = evaluate(backend, [1, 2, 3], [0.5, -1.5, float("nan")], 1, pa.float64(), q="ntile(v * 2, 3)")
    assert [rows[k]["q"] for k in (1, 2, 3)] == [2, 1, 3]  # NaN sorts above every number, on both


def test_ranks_nested_directly_and_through_features(backend):
    keys, values = [1, 2, 3, 4, 5], [5, 1, None, 3, 3]
    rows = evaluate(backend, keys, values, 2, inner="percent_rank(v)", outer="ntile(percent_rank(v) * -1, 2)",
                    twice="top_n(inner + percent_rank(v * 0 + id), 2)")
    inner = ref_percent_rank(dict(zip(keys, values)))
    assert {k: r["outer"] for k, r in rows.items()} == ref_ntile({k: v and -v for k, v in inner.items()}, 2)
    by_id = ref_percent_rank({k: None if v is None else k for k, v in zip(keys, values)})
    assert {k: r["twice"] for k, r in rows.items()} == ref_top_n(
        {k: None if inner[k] is None else inner[k] + by_id[k] for k in keys}, 2)


# --- the population is every evaluated entity, whatever the command keeps ------------------------
SHOP = """\
version: 1
name: shop
entity: {table: customers, key: customer_id, time: created_at}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
features:
  spend: sum(orders.amount)
segments:
  top2: {where: "top_n(spend, 2)"}
  upper_half: {where: "percent_rank(spend) >= 0.5 and customer_id > 2"}
  small: {where: "customer_id <= 2"}
"""


def shop(con):
    return segrules.load_text(shop_text(con))


def shop_text(con) -> str:
    customers = pa.table({"customer_id": pa.array([1, 2, 3, 4, 5], pa.int64()),
                          "created_at": pa.array([datetime(2026, 1, 1)] * 4 + [datetime(2027, 1, 1)],
                                                 pa.timestamp("us"))})
    orders = pa.table({"customer_id": pa.array([1, 2, 3, 4, 5], pa.int64()),
                       "ordered_at": pa.array([datetime(2026, 2, 1)] * 5, pa.timestamp("us")),
                       "amount": pa.array([10.0, 40.0, 30.0, 20.0, 99.0])})
    text = SHOP.replace("table: customers", f"table: {put_table(con, customers, 'cust')}")
    return text.replace("table: orders", f"table: {put_table(con, orders, 'ord')}")


def test_ranks_population_in_run_and_segment_subsets(backend):
    # customer 5 is created after now: not in the population, so its 99.0 ranks nobody down
    spec = shop(backend)
    full = {r["customer_id"]: r for r in spec.evaluate(backend, as_of=NOW).to_pyarrow().to_pylist()}
    assert sorted(full) == [1, 2, 3, 4]
    assert {k for k, r in full.items() if r["top2"]} == {2, 3}
    assert {k for k, r in full.items() if r["upper_half"]} == {3}  # ranks 20 < 30, 40 of 10..40
    only = spec.evaluate(backend, as_of=NOW, segments=["top2"], features=False).to_pyarrow().to_pylist()
    assert {r["customer_id"] for r in only if r["top2"]} == {2, 3}


def test_ranks_population_in_preview_with_the_rank_shown(backend):
    spec = shop(backend)
    from segrules.preview import preview_members
    rows = preview_members(spec, backend, "top2", limit=1, as_of=NOW).to_pylist()
    assert rows == [{"customer_id": 2, "spend": 40.0, "top_n(spend, 2)": True}]
    rows = preview_members(spec, backend, "upper_half", as_of=NOW).to_pylist()
    assert [(r["customer_id"], r["percent_rank(spend)"]) for r in rows] == [(3, pytest.approx(2 / 3))]


def test_ranks_population_in_the_cli_run(tmp_path):
    import ibis
    from click.testing import CliRunner

    from segrules.cli import main
    db = tmp_path / "shop.duckdb"
    con = ibis.duckdb.connect(str(db))
    path = tmp_path / "shop.yaml"
    path.write_text(shop_text(con), encoding="utf-8")
    con.disconnect()
    out = tmp_path / "top.csv"
    result = CliRunner().invoke(main, ["run", str(path), "--db", f"duckdb://{db}", "--as-of", "2026-11-01",
                                       "--segments", "top2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(out.read_text().splitlines()))
    assert sorted(rows[1:]) == [["top2", "2"], ["top2", "3"]]


TEST_FILE = """\
spec: shop.yaml
as_of: 2026-11-01
cases:
  - name: the top two of four, whoever the expectation names
    data:
      customers: [{customer_id: 1}, {customer_id: 2}, {customer_id: 3}, {customer_id: 4}]
      orders:
        - {customer_id: 1, amount: 10, ordered_at: 2026-02-01}
        - {customer_id: 2, amount: 40, ordered_at: 2026-02-01}
        - {customer_id: 3, amount: 30, ordered_at: 2026-02-01}
        - {customer_id: 4, amount: 20, ordered_at: 2026-02-01}
    expect:
      3: {in: [top2, upper_half]}
      4: {not_in: [top2, upper_half]}
"""


def test_ranks_population_in_spec_tests(tmp_path):
    from click.testing import CliRunner

    from segrules.cli import main
    (tmp_path / "shop.yaml").write_text(SHOP.replace(", time: created_at", ""), encoding="utf-8")
    (tmp_path / "shop.test.yaml").write_text(TEST_FILE, encoding="utf-8")
    result = CliRunner().invoke(main, ["test", str(tmp_path / "shop.yaml")])
    assert result.exit_code == 0, result.output
    failing = TEST_FILE.replace("4: {not_in: [top2, upper_half]}", "4: {in: [top2]}")
    (tmp_path / "shop.test.yaml").write_text(failing, encoding="utf-8")
    result = CliRunner().invoke(main, ["test", str(tmp_path / "shop.yaml")])
    assert result.exit_code == 1
    assert "top_n(spend, 2) = False" in result.output and "spend = 20" in result.output


# --- misuse ----------------------------------------------------------------------------------------
HEAD = """\
version: 1
name: t
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
params: {n: 3, name: x, ratio: 0.5}
features:
  ltv: sum(orders.amount)
segments:
  s: {where: "%s"}
schema:
  customers: {customer_id: int64, email: string, vip: boolean, signup_at: timestamp}
  orders: {customer_id: int64, ordered_at: timestamp, amount: float64, status: string}
"""


@pytest.mark.parametrize("rule, code, at, words", [
    ("percent_rank(vip) > 0", "SR422", "vip", "got boolean"),
    ("percent_rank(email) > 0", "SR422", "email", "got string"),
    ("top_n(null, 3)", "SR422", "null", "got null"),
    ("ntile(ltv, 0) == 1", "SR424", "0", "at least 1, got 0"),
    ("top_n(ltv, -5)", "SR424", "-5", "got -5"),
    ("ntile(ltv, 3000000000) == 1", "SR424", "3000000000", "at most 2147483647"),
    ("ntile(ltv, 2.5) == 1", "SR423", "2.5", "whole-number literal"),
    ("ntile(ltv, $ratio) == 1", "SR423", "$ratio", "integer parameter"),
    ("top_n(ltv, $name)", "SR423", "$name", "integer parameter"),
    ("top_n(ltv, count(orders))", "SR423", "count(orders)", "whole-number literal"),
    ("percent_rank(1 + 2) > 0", "SR425", "1 + 2", "same for every entity"),
    ("count(orders where percent_rank(amount) > 0.5) > 0", "SR421", "percent_rank(amount)", "inside an aggregate"),
    ("count(orders between now - 1d and now + top_n(1, 2)) > 0", "SR425", "1", "same for every entity"),
    ("percent_rank(ltv, 2) > 0", "SR404", "percent_rank(ltv, 2)", "takes 1 argument, got 2"),
    ("ntile(ltv) > 0", "SR404", "ntile(ltv)", "takes 2 arguments, got 1"),
])
def test_ranks_misuse_is_a_positioned_error(rule, code, at, words):
    diag = positioned_error(HEAD % rule, at)
    assert diag.code == code and words in diag.message, diag.message
    assert diag.hint or code in ("SR404", "SR424")


def test_ranks_with_an_int_parameter_check():
    segrules.load_text(HEAD % "top_n(ltv, $n) and ntile(signup_at, $n) == 1 and percent_rank(-ltv) > 0").check()


def test_ranks_population_at_each_point_in_time_of_history(backend):
    # one plan with now as a query parameter (history snapshots, backfill): customer 5 joins the
    # population in 2027 and takes a top-two place
    from segrules.history.snapshots import MembershipQuery
    query = MembershipQuery(shop(backend), backend)
    for as_of, top in ((NOW, {"2", "3"}), (datetime(2027, 6, 1), {"2", "5"})):
        matches, universe = query.matches(as_of)
        members = {k for s, k in zip(matches["segment"].to_pylist(), matches["key"].to_pylist()) if s == "top2"}
        assert members == top and universe == (4 if as_of == NOW else 5)


def test_ranks_and_buckets_check_param_overrides_at_compile():
    from segrules.errors import CompileError
    spec = segrules.load_text(HEAD % "top_n(ltv, $n) and bucket(customer_id, 's', $n) == 0")
    assert "RANK()" in spec.to_sql(as_of=NOW, params={"n": "2"})
    for bad in ("0", "-4"):
        with pytest.raises(CompileError) as info:
            spec.to_sql(as_of=NOW, params={"n": bad})
        assert info.value.diagnostics[0].code == "SR424" and "$n must be a whole number from 1" in str(info.value)


def test_ranks_columns_named_like_the_plans_own_do_not_clash():
    """An entity column called `_rv` or `_rank` is ranked like any other: the plan's helper
    columns take names no column has."""
    import ibis as _ibis
    import pyarrow as _pa

    import segrules as _segrules

    con = _ibis.duckdb.connect()
    con.create_table("people", _pa.table({"id": [1, 2, 3, 4], "_rv": [10, 20, 20, 40], "_rank": [4.0, 3.0, 2.0, 1.0]}))
    spec = _segrules.load_text("""\
version: 1
name: clash
entity: {table: people, key: id}
features:
  a: percent_rank(_rv)
  b: percent_rank(_rank)
segments:
  top: {where: "a >= 0.5 and b < 1"}
""", "clash.yaml")
    rows = {r["id"]: r for r in spec.evaluate(con).to_pyarrow().to_pylist()}
    assert [rows[i]["a"] for i in (1, 2, 3, 4)] == [0.0, 1 / 3, 1 / 3, 1.0]
    assert [rows[i]["b"] for i in (1, 2, 3, 4)] == [1.0, 2 / 3, 1 / 3, 0.0]
    assert [rows[i]["top"] for i in (1, 2, 3, 4)] == [False, False, False, True]
