"""RFM label maps: the shipped default is mutually exclusive and exhaustive (MECE) and is the
documented grid; custom maps and the rest of the rfm: section are checked with positioned RFM1xx
diagnostics, by ``validate`` and before a run."""

from __future__ import annotations

import itertools

import pytest
from click.testing import CliRunner
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import segrules
from segrules.cli import main
from segrules.demo import write_demo_data
from segrules.errors import SegrulesError
from segrules_rfm.labels import PYTHON, default_label_map, evaluate, ibis_ops

from helpers import HEAD, SCHEMA
from rfm_reference import grid_label


def test_rfm_default_label_map_is_mece_and_the_documented_grid():
    label_map = default_label_map()
    assert len(label_map.labels) == 11
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        assert label_map.label_of(r, f, m) == [grid_label(r, f, m)], (r, f, m)
    # every label is used by some combination
    used = {grid_label(*c) for c in itertools.product(range(1, 6), repeat=3)}
    assert used == set(label_map.labels)


def spec(rfm: str, segments: str = "  recent: {where: rfm.r >= 4}\n"):
    return segrules.load_text(HEAD + rfm + "segments:\n" + segments + SCHEMA, "t.yaml")


def position(rfm: str, needle: str) -> tuple[int, int]:
    for number, line in enumerate((HEAD + rfm).splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(needle)


def found(rfm: str):
    return [(d.code, d.span.line, d.span.column) for d in spec(rfm).validate() if d.is_error]


def test_rfm_default_map_is_valid_and_its_fields_have_domains():
    s = spec("rfm: {source: orders, amount: amount, where: status == 'paid'}\n")
    assert s.validate() == []
    _, _, fields = s.check().namespaces["rfm"]
    assert (fields["r"].minimum, fields["r"].maximum) == (1, 5)
    assert fields["label"].values[-1] == "No purchases" and "Can't Lose Them" in fields["label"].values
    assert not fields["label"].nullable


def test_rfm_overlapping_labels_are_reported_at_the_second_rule():
    rfm = "rfm:\n  source: orders\n  amount: amount\n  bins: 2\n  labels:\n    a: r == 2\n    b: r == 2 and f == 2\n    c: r == 1\n"
    [(code, line, col)] = found(rfm)
    assert code == "RFM113" and (line, col) == position(rfm, "r == 2 and f == 2")
    message = next(d.message for d in spec(rfm).validate() if d.code == "RFM113")
    assert "'a' and 'b'" in message and "(2, 2, 1), (2, 2, 2)" in message


def test_rfm_label_gaps_are_reported_at_labels_with_the_missing_scores():
    rfm = "rfm:\n  source: orders\n  amount: amount\n  bins: 3\n  labels:\n    top: r == 3\n    low: r == 1\n"
    [d] = [d for d in spec(rfm).validate() if d.is_error]
    assert d.code == "RFM114" and (d.span.line, d.span.column) == position(rfm, "labels:")
    assert "(2, 1, 1)" in d.message and "9 of 27" in d.message


def test_rfm_label_rules_use_only_scores_and_parse_where_written():
    rfm = "rfm:\n  source: orders\n  amount: amount\n  bins: 2\n  labels:\n    a: r == 2 and amount > 3\n    b: r ==\n"
    codes = found(rfm)
    assert ("RFM111", *position(rfm, "amount > 3")) in codes
    assert any(c.startswith("SR2") and line == position(rfm, "b: r ==")[0] for c, line, _ in codes)


def test_rfm_label_rules_must_be_boolean():
    rfm = "rfm:\n  source: orders\n  amount: amount\n  bins: 2\n  labels:\n    a: r + f\n"
    assert ("RFM112", *position(rfm, "r + f")) in found(rfm)
    rfm = "rfm:\n  source: orders\n  amount: amount\n  bins: 2\n  labels:\n    a: r % (f - 1) >= 0\n    b: r < 0\n"
    [d] = [d for d in spec(rfm).validate() if d.code == "RFM112"]
    assert "division by zero" in d.message and "(1, 1, 1)" in d.message


def test_rfm_section_checks_are_positioned():
    assert found("rfm: {source: orders, amount: amount, bins: 4}\n") == [
        ("RFM104", *position("rfm: {source: orders, amount: amount, bins: 4}\n", "4}"))]
    rfm = ("rfm:\n  source: orders\n  amount: amount\n  method: thresholds\n  thresholds:\n"
           "    recency_days: [30, 90]\n    frequency: [1, 2, 4, 8]\n    monetary: [50, 40, 400, 1000]\n")
    assert found(rfm) == [("RFM102", *position(rfm, "[30, 90]")), ("RFM102", *position(rfm, "[50, 40"))]
    no_time = HEAD.replace("orders: {table: orders, key: customer_id, time: ordered_at}",
                           "orders: {table: orders, key: customer_id}")
    text = no_time + "rfm: {source: orders, amount: amount}\nsegments:\n  a: {where: rfm.r == 5}\n" + SCHEMA
    [d] = [d for d in segrules.load_text(text, "t.yaml").validate() if d.is_error]
    assert d.code == "RFM101"
    rfm = "rfm: {source: orders, amount: amount, labels: {No purchases: r >= 1}, bins: 2}\n"
    assert ("RFM115", *position(rfm, "No purchases")) in found(rfm)
    with pytest.raises(SegrulesError) as exc:  # out of range: the core's positioned pydantic error
        spec("rfm: {source: orders, amount: amount, bins: 1}\n")
    d = exc.value.diagnostics[0]
    assert d.code == "SR100" and (d.span.line, d.span.column) == position("rfm: {source: orders, amount: amount, bins: 1}\n", "1}")


def test_rfm_core_checks_cover_the_section_expressions():
    with pytest.raises(SegrulesError) as exc:
        spec("rfm: {source: orders, amount: status, where: amount}\n").check()
    assert [d.code for d in exc.value.diagnostics] == ["SR415", "SR415"]
    with pytest.raises(SegrulesError) as exc:
        spec("rfm: {source: orders, amount: amount, window: 3 days}\n")
    assert "duration" in exc.value.diagnostics[0].message


def test_rfm_broken_label_map_stops_a_run(tmp_path):
    db = tmp_path / "shop.duckdb"
    write_demo_data(db, customers=50)
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "rfm:\n  source: orders\n  amount: amount\n  bins: 2\n  labels:\n    a: r == 2\n"
                    "segments:\n  a: {where: rfm.label == 'a'}\n")
    result = CliRunner().invoke(main, ["run", str(path), "--db", str(db)])
    assert result.exit_code == 2 and "RFM114" in result.output and "Traceback" not in result.output


rules = st.recursive(
    st.one_of(st.sampled_from(["r", "f", "m"]), st.integers(0, 6).map(str)),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")),
    max_leaves=4)
conditions = st.recursive(
    st.tuples(rules, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), rules).map(" ".join)
    | st.tuples(rules, rules, rules).map(lambda t: f"{t[0]} between {t[1]} and {t[2]}")
    | st.tuples(rules, st.lists(st.integers(0, 6), min_size=1, max_size=3)).map(
        lambda t: f"{t[0]} in ({', '.join(map(str, t[1]))})"),
    lambda inner: st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    | inner.map(lambda c: f"not ({c})"),
    max_leaves=4)


@settings(deadline=None)
@given(text=conditions)
def test_rfm_label_rules_evaluate_alike_in_python_and_in_the_database(text):
    import ibis

    node = segrules.lang.parse_expr(text)
    combos = list(itertools.product(range(1, 4), repeat=3))
    table = ibis.memtable({"r": [c[0] for c in combos], "f": [c[1] for c in combos], "m": [c[2] for c in combos]})
    try:
        want = [evaluate(node, dict(zip("rfm", c)), PYTHON) for c in combos]
    except (ZeroDivisionError, ValueError):
        assume(False)  # a rule that divides by zero is RFM112, never run
    expr = evaluate(node, {"r": table.r, "f": table.f, "m": table.m}, ibis_ops())
    got = ibis.duckdb.connect().execute(table.select(x=expr)).x.tolist()
    assert got == want


def test_rfm_misspelt_label_in_a_rule_is_an_error_with_a_suggestion():
    rfm = "rfm: {source: orders, amount: amount}\n"
    segments = ("  a: {where: rfm.label == 'Chmpions'}\n  b:\n    where: rfm.label in ('At Risk', 'Lost', 'Sleepy')\n"
                "  c: {where: rfm.label != 'No purchases'}\n")
    found_ = [(d.code, d.span.line, d.span.column, d.hint) for d in spec(rfm, segments).validate() if d.is_error]
    text = rfm + "segments:\n" + segments
    assert found_ == [("RFM116", *position(text, "'Chmpions'"), "did you mean 'Champions'?"),
                      ("RFM116", *position(text, "'Sleepy'"), found_[1][3])]
    assert "Champions" in found_[1][3]


def test_rfm_misspelt_label_stops_a_run(tmp_path):
    db = tmp_path / "shop.duckdb"
    write_demo_data(db, customers=50)
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "rfm: {source: orders, amount: amount}\nsegments:\n  a: {where: rfm.label == 'Lsot'}\n")
    result = CliRunner().invoke(main, ["run", str(path), "--db", str(db)])
    assert result.exit_code == 2 and "RFM116" in result.output and "did you mean 'Lost'?" in result.output
