"""Spec stage: YAML -> pydantic models, with positions for every error."""

import pytest

from segrules.errors import SpecError
from segrules.spec import parse_spec

VALID = """\
version: 1
name: shop
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
params:
  vip: 500
  since: 2026-01-01
features:
  ltv: sum(orders.amount)
segments:
  big:
    description: Big spenders
    where: ltv > $vip
  folded:
    where: >
      ltv > 1
      and ltv < 2
"""


def errors(text):
    with pytest.raises(SpecError) as info:
        parse_spec(text, "s.yaml")
    return info.value.diagnostics


def test_spec_loader_valid_document_keeps_values_and_positions():
    doc = parse_spec(VALID, "s.yaml")
    assert doc.model.entity.key == "customer_id"
    assert doc.model.sources["orders"].time == "ordered_at"
    assert doc.model.params["vip"] == 500
    assert str(doc.model.params["since"]) == "2026-01-01"
    assert doc.model.segments["big"].where == "ltv > $vip"
    span = doc.index.value_span(("segments", "big", "where"))
    assert (span.line, span.column) == (14, 12)


def test_spec_loader_folded_scalar_maps_each_line_to_the_file():
    doc = parse_spec(VALID, "s.yaml")
    segs = doc.index.segments(("segments", "folded", "where"))
    assert segs == ((0, 17, 7), (len("ltv > 1 "), 18, 7))


def test_spec_loader_quoted_scalar_position_skips_the_quote():
    doc = parse_spec(VALID.replace("where: ltv > $vip", "where: 'ltv > $vip'"), "s.yaml")
    assert doc.index.segments(("segments", "big", "where")) == ((0, 14, 13),)


def test_spec_loader_unknown_key_points_at_key_with_suggestion():
    (d,) = errors(VALID.replace("description: Big", "descripton: Big"))
    assert d.code == "SR105"
    assert (d.span.line, d.span.column) == (13, 5)
    assert "description" in d.hint


def test_spec_loader_reports_all_problems_at_once():
    bad = VALID.replace("key: customer_id}", "kee: customer_id}", 1).replace("version: 1", "version: 2")
    codes = sorted(d.code for d in errors(bad))
    assert codes == ["SR100", "SR105", "SR106"]


def test_spec_loader_yaml_syntax_error_has_position():
    (d,) = errors("version: 1\nname: [a,\n")
    assert d.code == "SR101"
    assert d.span.file == "s.yaml" and d.span.line >= 2


def test_spec_loader_duplicate_keys_are_errors():
    (d,) = errors(VALID.replace("  folded:", "  big:"))
    assert d.code == "SR103"
    assert d.span.line == 15


def test_spec_loader_non_string_expressions_keep_their_text():
    doc = parse_spec(VALID.replace("where: ltv > $vip", "where: true").replace("ltv: sum(orders.amount)", "ltv: 5"), "s.yaml")
    assert doc.model.segments["big"].where == "true"
    assert doc.model.features["ltv"] == "5"


def test_spec_loader_bad_names_rejected():
    (d,) = errors(VALID.replace("  big:\n", "  big spender:\n"))
    assert d.code == "SR107"


@pytest.mark.parametrize("text", ["", "# only a comment\n", "- a\n- b\n", "just text"])
def test_spec_loader_non_mapping_documents(text):
    (d,) = errors(text)
    assert d.code in ("SR104",)
