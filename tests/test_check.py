"""Check stage: names, types, cycles — every error with its code and position."""

import pytest

import segrules
from segrules.errors import ExprSyntaxError, TypeCheckError

from helpers import spec_text


def check(segments):
    text = spec_text(segments)
    spec = segrules.load_text(text, "t.yaml")
    return spec.check()


def diags(segments, error=TypeCheckError):
    with pytest.raises(error) as info:
        check(segments)
    return info.value.diagnostics


def line_of(segment_index: int) -> int:
    """File line of the where: of the n-th segment in spec_text."""
    from helpers import HEAD
    return HEAD.count("\n") + 1 + 2 * segment_index + 2


def test_check_valid_spec_infers_types():
    checked = check({"a": "ltv > $vip and country == $region", "b": "segment('a') or signup_at >= now - 30d"})
    assert str(checked.feature_types["ltv"]).lstrip("!") == "float64"
    assert [r for r in checked.order if r[0] == "segment"] == [("segment", "a"), ("segment", "b")]


@pytest.mark.parametrize("rule, code, column", [
    ("country > 5", "SR401", 12),
    ("contry == 'DE'", "SR301", 12),
    ("sum(order.amount) > 1", "SR302", 12),
    ("sum(orders.amont) > 1", "SR301", 12),
    ("segment('nope')", "SR304", 12),
    ("$vipp > 1", "SR305", 12),
    ("lowr(email) == 'x'", "SR306", 12),
    ("orders.amount > 1", "SR308", 12),
    ("sum(orders.status) > 1", "SR405", 12),
    ("ltv", "SR406", 12),
    ("country and true", "SR402", 12),
    ("signup_at - signup_at > 1", "SR403", 12),
    ("lower(ltv) == 'x'", "SR404", 12),
    ("matches(email, '^(?=.*x)a')", "SR404", 12),  # a lookahead: Python's re has it, RE2 does not
    ("matches(email, '(a)\\\\1')", "SR404", 12),  # a backreference
    ("matches(email, '[')", "SR404", 12),
    ("count(orders where country == 'DE') > 0", "SR301", 31),
])
def test_check_error_codes_and_positions(rule, code, column):
    (d,) = diags({"s": rule})
    assert d.code == code, d.message
    assert d.span.file == "t.yaml"
    assert (d.span.line, d.span.column) == (line_of(0), column), d


def test_check_did_you_mean():
    (d,) = diags({"s": "contry == 'DE'"})
    assert d.hint == "did you mean 'country'?"


def test_check_reports_every_error_in_the_file():
    found = diags({"a": "country > 5", "b": "nope == 1", "c": "ltv > 'x'"})
    assert [d.span.line for d in found] == [line_of(0), line_of(1), line_of(2)]


def test_check_syntax_and_type_errors_together():
    found = diags({"a": "country >", "b": "country > 5"}, ExprSyntaxError)
    assert {d.code[:3] for d in found} == {"SR2", "SR4"}


def test_check_segment_cycle_is_reported():
    found = diags({"a": "segment('b')", "b": "segment('c') and true", "c": "segment('a')"})
    assert [d.code for d in found] == ["SR501"]
    assert "segment a -> segment b -> segment c -> segment a" in found[0].message


def test_check_self_reference_is_a_cycle():
    (d,) = diags({"a": "not segment('a')"})
    assert d.code == "SR501"


def test_check_window_needs_time_column():
    text = spec_text({"s": "count(orders within 30d) > 0"}).replace(", time: ordered_at", "")
    with pytest.raises(TypeCheckError) as info:
        segrules.load_text(text, "t.yaml").check()
    assert [d.code for d in info.value.diagnostics] == ["SR408"]


def test_check_unknown_table_in_connection_names_position():
    import ibis
    con = ibis.duckdb.connect()
    spec = segrules.load_text(spec_text({"s": "true"}, schema=False), "t.yaml")
    with pytest.raises(TypeCheckError) as info:
        spec.check(con)
    assert {d.code for d in info.value.diagnostics} == {"SR307"}
    assert info.value.diagnostics[0].span.line == 3


def test_check_comparison_with_null_warns():
    checked = check({"s": "country == null"})
    assert [d.code for d in checked.warnings] == ["SR407"]


def test_check_time_range_bounds_must_be_constant():
    (d,) = diags({"s": "count(orders between signup_at and now) > 0"})
    assert d.code == "SR412"


def test_check_matches_accepts_re2_syntax_python_lacks_and_it_runs_on_duckdb():
    """`\\pL` (a Unicode letter) is RE2, which DuckDB runs; Python's re would reject it."""
    from datetime import datetime

    from helpers import duckdb_shop

    now = datetime(2026, 10, 15, 12)
    spec = segrules.load_text(spec_text({"letters": "matches(email, '^\\\\pL+$')",
                                         "digits": "matches(email, '^\\\\d')"}, schema=False))
    rows = spec.evaluate(duckdb_shop(now), as_of=now).to_pyarrow().to_pylist()
    assert [(r["letters"], r["digits"]) for r in rows] == [(True, False)] * 4  # emails 'a'..'d'
