"""``resolve: priority`` with ``else``: the output is exclusive and exhaustive, each entity in the
first listed segment whose rule holds (hypothesis, on DuckDB), in the spec's one query."""

from __future__ import annotations

import ibis
import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segrules
import segrules_mece
from segrules.cli import main
from segrules.errors import CompileError

RULES = """\
version: 1
name: campaigns
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id}
segments:
  win_back: {where: "%s"}
  champions: {where: "%s"}
  newsletter: {where: "%s"}
  other: {where: "segment('champions') and x > 0"}
"""
TAXONOMY = """\
taxonomies:
  campaign_priority:
    segments: [win_back, champions, newsletter]
    resolve: priority
    else: everyone_else
"""
SCHEMA = """\
schema:
  customers: {customer_id: int64, x: int64}
  orders: {customer_id: int64, amount: float64}
"""
NAMES = ["win_back", "champions", "newsletter"]

atoms = st.one_of(
    st.builds(lambda op, c: f"x {op} {c}", st.sampled_from(["<", ">=", "=="]), st.integers(-2, 2)),
    st.just("x is null"),
    st.builds(lambda k: f"count(orders) >= {k}", st.integers(0, 3)),
)
rule = st.one_of(atoms, st.builds(lambda a, b: f"{a} or {b}", atoms, atoms))


@pytest.fixture(scope="module")
def registry():
    return segrules.default_registry(plugins=[segrules_mece], load_entrypoints=False)


def _con(xs: list, orders: list[int]):
    con = ibis.duckdb.connect()
    con.create_table("customers", pa.table({"customer_id": pa.array(range(1, len(xs) + 1), pa.int64()),
                                            "x": pa.array(xs, pa.int64())}))
    con.create_table("orders", pa.table({"customer_id": pa.array(orders, pa.int64()),
                                         "amount": pa.array([1.0] * len(orders), pa.float64())}))
    return con


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.tuples(rule, rule, rule), xs=st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=1,
                                                      max_size=10),
       orders=st.lists(st.integers(1, 10), max_size=15))
def test_mece_priority_output_is_exclusive_and_exhaustive(registry, rules, xs, orders):
    text = RULES % rules + TAXONOMY + SCHEMA
    spec = segrules.load_text(text, registry=registry)
    raw_spec = segrules.load_text(RULES % rules + SCHEMA, registry=registry)
    assert spec.segments == NAMES + ["other", "everyone_else"]
    con = _con(xs, orders)
    rows = spec.evaluate(con).to_pyarrow().to_pylist()
    raw = raw_spec.evaluate(con).to_pyarrow().to_pylist()
    for row, own in zip(rows, raw):
        assert row["customer_id"] == own["customer_id"]
        chosen = [n for n in NAMES + ["everyone_else"] if row[n]]
        assert len(chosen) == 1  # exclusive and, with else, exhaustive
        first = next((n for n in NAMES if own[n]), "everyone_else")
        assert chosen == [first]
        assert row["other"] == own["other"]  # segment('champions') in rules sees champions' own rule


def test_mece_priority_in_one_query_and_run_output(registry, tmp_path):
    text = RULES % ("x < 0", "x >= 0", "count(orders) >= 1") + TAXONOMY + SCHEMA
    spec = segrules.load_text(text, registry=registry)
    sql = spec.to_sql()
    assert sql.count("GROUP BY") == 1 and "everyone_else" in sql
    db = tmp_path / "shop.duckdb"
    con = ibis.duckdb.connect(str(db))
    con.create_table("customers", pa.table({"customer_id": [1, 2, 3], "x": [-1, 1, None]}))
    con.create_table("orders", pa.table({"customer_id": [1, 2], "amount": [1.0, 2.0]}))
    con.disconnect()
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    out = tmp_path / "members.csv"
    result = CliRunner().invoke(main, ["run", str(path), "--db", str(db), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = sorted(out.read_text().splitlines()[1:])
    # customer 1: win_back and newsletter -> win_back; 2: champions (and other); 3: none -> else
    assert lines == ['"champions",2', '"everyone_else",3', '"other",2', '"win_back",1']


def test_mece_derived_segment_with_unknown_input_is_an_error(registry):
    text = RULES % ("x < 0", "x >= 0", "x == 0") + TAXONOMY.replace("newsletter]", "newsleter]") + SCHEMA
    spec = segrules.load_text(text, registry=registry)
    assert "MECE101" in [d.code for d in spec.validate()]
    with pytest.raises(CompileError) as exc:
        spec.compile()
    assert exc.value.diagnostics[0].code == "SR610"


def test_mece_preview_shows_the_output_members_of_derived_segments(registry):
    """`preview` of a priority-resolved segment and of the `else` segment lists the members `run`
    outputs, with each input segment's own rule and the values those rules read."""
    from segrules.preview import preview_members

    text = RULES % ("x < 0", "x >= 0", "count(orders) >= 1") + TAXONOMY + SCHEMA
    spec = segrules.load_text(text, registry=registry)
    con = _con([-1, 1, None, 2, -3], [1, 2, 5, 5])
    output = sorted(spec.evaluate(con).to_pyarrow().to_pylist(), key=lambda r: r["customer_id"])
    for name in ["win_back", "champions", "newsletter", "everyone_else"]:
        table = preview_members(spec, con, name, limit=10).to_pylist()
        assert [r["customer_id"] for r in table] == [r["customer_id"] for r in output if r[name]], name
    newsletter = preview_members(spec, con, "newsletter").to_pylist()
    # every customer with orders is taken by win_back (x < 0: 1 and 5) or champions (x >= 0: 2)
    assert newsletter == [] and output[4]["win_back"] and output[1]["champions"]
    rest = preview_members(spec, con, "everyone_else").to_pylist()
    assert rest == [{"customer_id": 3, "segment('win_back')": False, "segment('champions')": False,
                     "segment('newsletter')": False, "x": None, "count(orders)": 0}]
