"""overlaps: intended overlaps (A within B, or A and B may overlap, with a reason): validated
(SR168 shape, SR321 names), shown as intended by audit, mece and the MECE proof (MECE134, exit
0), and an error on data when a declared A ⊆ B does not hold (MECE135, exit 1)."""

from __future__ import annotations

import json

import ibis
import pyarrow as pa
import pytest
from click.testing import CliRunner

import segrules
from segrules.cli import main

HEAD = """\
version: 1
name: ov
entity: {table: customers, key: customer_id}
segments:
  big: {where: x > 10}
  top: {where: x > 95}
  low: {where: x <= 50}
  mid: {where: x > 40 and x <= 60}
"""
SCHEMA = "schema:\n  customers: {customer_id: int64, x: int64}\n"


def _invoke(*args):
    return CliRunner().invoke(main, list(map(str, args)))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("ov") / "ov.duckdb"
    con = ibis.duckdb.connect(str(path))
    con.create_table("customers", pa.table({"customer_id": list(range(1, 101)), "x": list(range(1, 101))}))
    con.disconnect()
    return path


def _spec(tmp_path, overlaps: str, extra: str = "") -> str:
    path = tmp_path / "ov.yaml"
    path.write_text(HEAD + extra + "overlaps:\n" + overlaps + SCHEMA)
    return str(path)


def _codes(diags) -> list[str]:
    return sorted(d["code"] if isinstance(d, dict) else d.code for d in diags)


def test_overlaps_intended_model_and_lookup(tmp_path):
    spec = segrules.load(_spec(tmp_path, "  - {segment: top, within: big, reason: top is a part of big}\n"
                                         "  - {segments: [low, mid], reason: bands share 41-50}\n"))
    m = spec.model
    assert m.intended("big", "top").describe() == "top ⊆ big"
    assert m.intended("mid", "low").reason == "bands share 41-50"
    assert m.intended("big", "low") is None
    assert _codes(spec.validate()) == []


@pytest.mark.parametrize("entry, line, column", [
    ("  - {segment: top, reason: r}\n", 10, 5),                       # within missing
    ("  - {segment: top, within: big, segments: [a, b], reason: r}\n", 10, 5),  # both forms
    ("  - {reason: r}\n", 10, 5),                                     # neither
])
def test_overlaps_intended_bad_shape_is_sr168(tmp_path, entry, line, column):
    with pytest.raises(segrules.SpecError) as exc:
        segrules.load(_spec(tmp_path, entry))
    [d] = exc.value.diagnostics
    assert (d.code, d.span.line, d.span.column) == ("SR168", line, column)


def test_overlaps_intended_without_reason_is_sr106(tmp_path):
    with pytest.raises(segrules.SpecError) as exc:
        segrules.load(_spec(tmp_path, "  - {segment: top, within: big}\n"))
    assert [d.code for d in exc.value.diagnostics] == ["SR106"]


def test_overlaps_intended_unknown_segment_is_sr321(tmp_path):
    path = _spec(tmp_path, "  - {segment: topp, within: big, reason: r}\n  - {segments: [low, low], reason: r}\n")
    diags = segrules.load(path).validate()
    assert [(d.code, d.span.line, d.span.column) for d in diags] == [("SR321", 10, 15), ("SR321", 11, 5)]
    assert "did you mean 'top'" in diags[0].hint
    result = _invoke("validate", path)
    assert result.exit_code == 2 and "error[SR321]" in result.stderr


def test_overlaps_intended_audit_shows_them_and_exits_0(tmp_path, db):
    path = _spec(tmp_path, "  - {segment: top, within: big, reason: top is a part of big}\n"
                           "  - {segments: [low, mid], reason: bands share 41-50}\n"
                           "  - {segments: [big, mid], reason: overlap by design}\n"
                           "  - {segments: [big, low], reason: overlap by design}\n")
    result = _invoke("audit", path, "--db", db, "--format", "json", "--min-size", "1")
    assert result.exit_code == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and _codes(report["findings"]) == ["MECE134"] * 4
    text = _invoke("audit", path, "--db", db, "--min-size", "1")
    assert text.exit_code == 0 and "0 findings; 4 intended overlaps" in text.stdout
    assert "⊆ big (intended)" in text.stdout and "info[MECE134]" in text.stderr


def test_overlaps_intended_audit_without_declaration_is_a_finding(tmp_path, db):
    path = _spec(tmp_path, "  - {segments: [low, mid], reason: bands share 41-50}\n")
    report = json.loads(_invoke("audit", path, "--db", db, "--format", "json", "--min-size", "1").stdout)
    assert "MECE133" in _codes(report["findings"]) and not report["ok"]


def test_overlaps_intended_subset_that_fails_on_data_is_mece135(tmp_path, db):
    path = _spec(tmp_path, "  - {segment: mid, within: low, reason: wrong on purpose}\n")
    result = _invoke("audit", path, "--db", db, "--format", "json", "--min-size", "1")
    assert result.exit_code == 1
    [d] = [d for d in json.loads(result.stdout)["findings"] if d["code"] == "MECE135"]
    assert "10 of the 20 members of 'mid' are not in 'low'" in d["message"] and d["line"] == 10


def test_overlaps_intended_mece_and_proof_in_an_exclusive_taxonomy(tmp_path, db):
    taxonomy = "taxonomies:\n  bands: {segments: [low, mid], exclusive: true}\n"
    path = _spec(tmp_path, "  - {segments: [low, mid], reason: bands share 41-50}\n", taxonomy)
    result = _invoke("mece", path, "--db", db, "--format", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    [tax] = json.loads(result.stdout)["taxonomies"]
    assert tax["in_several"] == 10 and _codes(tax["diagnostics"]) == ["MECE134"]
    proof = segrules.load(path).validate()
    assert _codes(proof) == ["MECE113", "MECE134"]
    plain = _spec(tmp_path, "  - {segments: [big, top], reason: r}\n", taxonomy)
    assert "MECE110" in _codes(segrules.load(plain).validate())
    assert _invoke("mece", plain, "--db", db).exit_code == 1


def test_overlaps_intended_mece_subset_failing_is_mece135(tmp_path, db):
    taxonomy = "taxonomies:\n  bands: {segments: [low, mid]}\n"
    path = _spec(tmp_path, "  - {segment: mid, within: low, reason: wrong on purpose}\n", taxonomy)
    result = _invoke("mece", path, "--db", db, "--format", "json")
    assert result.exit_code == 1
    [tax] = json.loads(result.stdout)["taxonomies"]
    assert _codes(tax["diagnostics"]) == ["MECE135"]
