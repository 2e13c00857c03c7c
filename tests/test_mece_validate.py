"""The MECE plugin in ``segrules validate``: structure errors with positions, the three answers as
diagnostics, exit codes (1 a check failed, 2 invalid) and CI formats."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import segrules
import segrules_mece
from segrules.cli import main
from segrules_mece.prover import Prover, prove

ROOT = Path(__file__).resolve().parent.parent
LIFECYCLE = ROOT / "segment_specs" / "lifecycle.yaml"
NOT_MECE = ROOT / "segment_specs" / "lifecycle_not_mece.yaml"

HEAD = """\
version: 1
name: t
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
segments:
"""
SPEC = HEAD + """\
  buyers: {where: count(orders) > 0}
  browsers: {where: count(orders) == 0}
  gmail: {where: "matches(email, 'gmail')"}
  yahoo: {where: "matches(email, 'yahoo')"}
  repeat: {where: count(orders) > 1}
taxonomies:
%s
schema:
  customers: {customer_id: int64, email: string}
  orders: {customer_id: int64, ordered_at: timestamp, amount: float64}
"""


@pytest.fixture(scope="module")
def registry():
    return segrules.default_registry(plugins=[segrules_mece], load_entrypoints=False)


def _validate(registry, taxonomies: str):
    text = SPEC % taxonomies
    spec = segrules.load_text(text, "t.yaml", registry=registry)
    return text.splitlines(), [d for d in spec.validate() if d.source == "mece"]


def _line(lines, diag) -> str:
    return lines[diag.span.line - 1][diag.span.column - 1:]


def test_mece_bad_taxonomies_get_positioned_errors(registry):
    lines, diags = _validate(registry, """\
  a:
    segments: [buyers, byers, buyers]
    exclusive: true
  b:
    segments: []
  c:
    segments: [buyers]
    resolve: priority
    else: gmail
  d:
    segments: [buyers]
    else: rest
  e:
    segments: [browsers, buyers]
    resolve: priority""")
    by_code = {d.code: d for d in diags}
    assert sorted(by_code) == ["MECE101", "MECE102", "MECE103", "MECE104", "MECE105", "MECE107"]
    assert all(d.is_error and not d.check for d in diags)  # the spec is invalid: exit 2
    assert _line(lines, by_code["MECE101"]).startswith("byers") and "did you mean 'buyers'" in by_code["MECE101"].hint
    assert _line(lines, by_code["MECE102"]) == "buyers]"  # the second one
    assert _line(lines, by_code["MECE103"]) == "[]"
    assert _line(lines, by_code["MECE104"]) == "gmail"
    assert _line(lines, by_code["MECE105"]) == "rest"
    assert _line(lines, by_code["MECE107"]) == "buyers]" and "'c' and 'e'" in by_code["MECE107"].message


def test_mece_unknown_assumption_column(registry):
    text = (SPEC % "  a: {segments: [buyers]}") + "assume:\n  orders.amont: {minimum: 0}\n  nope.x: {minimum: 0}\n"
    spec = segrules.load_text(text, "t.yaml", registry=registry)
    diags = [d for d in spec.validate() if d.source == "mece"]
    assert [d.code for d in diags] == ["MECE106", "MECE106"]
    assert {text.splitlines()[d.span.line - 1].strip().split(":")[0] for d in diags} == {"orders.amont", "nope.x"}


def test_mece_proved_overlap_and_unknown(registry):
    lines, diags = _validate(registry, """\
  stage: {segments: [buyers, browsers], exclusive: true, exhaustive: true}
  mail: {segments: [gmail, yahoo], exclusive: true}
  loyal: {segments: [buyers, repeat, browsers], exclusive: true}""")
    codes = sorted(d.code for d in diags)
    assert codes == ["MECE110", "MECE112", "MECE113"], [d.message for d in diags]
    [proved] = [d for d in diags if d.code == "MECE113"]
    assert "'stage'" in proved.message and "exhaustive" in proved.message
    overlaps = [d for d in diags if d.code == "MECE110"]
    assert all(d.check and d.is_error for d in overlaps)
    for d in overlaps:  # points at both segments' rules
        assert lines[d.span.line - 1].strip().startswith("buyers:")
        assert lines[d.related[0].line - 1].strip().startswith("repeat:")
        assert "count(orders) = 2" in d.message
    [unknown] = [d for d in diags if d.code == "MECE112"]
    assert "matches() is not modelled" in unknown.message and unknown.severity.value == "warning"
    assert _line(lines, unknown).startswith("matches(email")


def test_mece_lifecycle_spec_is_proved_mece(registry):
    spec = segrules.load(LIFECYCLE, registry=registry)
    diags = spec.validate()
    assert [d.code for d in diags] == ["MECE113"]
    proof = prove(spec.check(), "lifecycle", spec.section("taxonomies")["lifecycle"].segments)
    assert [p.kind for p in proof.pairs] == ["disjoint"] * 10 and proof.gap.kind == "exhaustive"


def test_mece_not_mece_example_witnesses(registry):
    spec = segrules.load(NOT_MECE, registry=registry)
    checked = spec.check()
    prover = Prover(checked)
    new_active = prover.pair("new_customers", "active")
    assert new_active.kind == "overlap"
    assert new_active.witness.describe().startswith("a customers row with signup_at = now - ")
    assert prover.pair("active", "lapsed").kind == "disjoint"
    assert prover.pair("active", "never_purchased").kind == "disjoint"
    gap = prover.gap(["new_customers", "active", "lapsed", "never_purchased"])
    assert gap.kind == "gap"
    # the boundary: last order between 90 and 91 days ago is neither active nor lapsed
    age = gap.witness.now - gap.witness.features["last_order_at"]
    assert 90 * 86400 <= age.total_seconds() < 91 * 86400


def _invoke(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def test_mece_validate_exit_codes_and_formats(tmp_path):
    assert _invoke("validate", LIFECYCLE).exit_code == 0
    result = _invoke("validate", NOT_MECE)
    assert result.exit_code == 1, result.output
    assert "check failed" in result.output and "MECE110" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(LIFECYCLE.read_text().replace("[new_customers,", "[new_customer,"))
    assert _invoke("validate", bad).exit_code == 2
    assert _invoke("validate", NOT_MECE, bad).exit_code == 2  # invalid wins over failed
    github = _invoke("validate", NOT_MECE, "--format", "github")
    assert github.exit_code == 1
    lines = [ln for ln in github.output.splitlines() if "title=MECE110" in ln and "not exclusive" in ln]
    text = NOT_MECE.read_text().splitlines()
    payload = json.loads(_invoke("validate", NOT_MECE, "--format", "json").output)
    mece = [d for d in payload["files"][0]["diagnostics"] if d["code"] == "MECE110"]
    assert mece and all(d["check"] and d["related"] for d in mece)
    assert len(lines) == len(mece)  # one annotation per finding; the other segment is named in it
    numbers = [int(ln.split("line=")[1].split(",")[0]) for ln in lines]
    numbers += [int(n) for ln in lines for n in re.findall(r":(\d+):\d+[,)]", ln.split("(also: ")[1])]
    annotated = {text[n - 2].strip().rstrip(":") for n in numbers}  # the where: lines, under the names
    assert annotated == {"new_customers", "active", "lapsed", "never_purchased"}
    junit = _invoke("validate", NOT_MECE, "--format", "junit").output
    assert "<failure" in junit and "MECE111" in junit


ASSUME = HEAD + """\
  paid_above_total: {where: sum(orders.amount where status == 'paid') > sum(orders.amount)}
  everyone: {where: "true"}
schema:
  customers: {customer_id: int64}
  orders: {customer_id: int64, ordered_at: timestamp, amount: "decimal(12, 2)", status: string}
"""


def test_mece_assume_non_negative_sum_is_used(registry):
    """A filtered sum exceeds the total only with negative amounts: possible, unless assumed away."""
    plain = Prover(segrules.load_text(ASSUME, registry=registry).check()).pair("paid_above_total", "everyone")
    assert plain.kind == "overlap"
    amounts = [row["amount"] for row in plain.witness.rows["orders"]]
    assert any(amount < 0 for amount in amounts)
    assumed = segrules.load_text(ASSUME + "assume:\n  orders.amount: {minimum: 0}\n", registry=registry)
    assert Prover(assumed.check()).pair("paid_above_total", "everyone").kind == "disjoint"


NAMESPACE = HEAD + """\
  high: {where: "spend.band == 'high'"}
  low: {where: "spend.band == 'low'"}
  big: {where: spend.total > 100}
  negative: {where: spend.total < 0}
spend: {source: orders, amount: amount, high: 50}
schema:
  customers: {customer_id: int64, email: string}
  orders: {customer_id: int64, ordered_at: timestamp, amount: float64}
"""


def test_mece_plugin_values_are_variables_of_their_domain():
    """The example plugin's spend.band takes 'high' or 'low' (never null), spend.total >= 0."""
    import importlib.util
    import sys
    path = ROOT / "docs" / "examples" / "example_plugin.py"
    spec_ = importlib.util.spec_from_file_location("example_plugin", path)
    module = importlib.util.module_from_spec(spec_)
    sys.modules.setdefault("example_plugin", module)
    spec_.loader.exec_module(module)
    registry = segrules.default_registry(plugins=[segrules_mece, module], load_entrypoints=False)
    prover = Prover(segrules.load_text(NAMESPACE, registry=registry).check())
    assert prover.pair("high", "low").kind == "disjoint"
    assert prover.gap(["high", "low"]).kind == "exhaustive"
    assert prover.pair("negative", "low").kind == "disjoint"  # spend.total has minimum 0
    both = prover.pair("high", "big")
    assert both.kind == "overlap" and not both.witness.insertable
    assert both.witness.values["spend.band"] == "high" and both.witness.values["spend.total"] > 100


def test_mece_docs_show_the_real_witnesses(monkeypatch):
    """docs/plugins/mece.md pastes `segrules validate` output for both lifecycle specs: it is current."""
    monkeypatch.chdir(ROOT)
    docs = (ROOT / "docs" / "plugins" / "mece.md").read_text(encoding="utf-8")
    for path in (LIFECYCLE, NOT_MECE):
        rel = path.relative_to(ROOT)
        block = docs.split(f"$ segrules validate {rel}\n", 1)[1].split("```", 1)[0]
        result = CliRunner().invoke(main, ["validate", str(rel)])
        shown = [ln for ln in block.splitlines() if ln.startswith(str(rel))]
        actual = [ln for ln in (result.stderr + result.stdout).splitlines() if ln.startswith(str(rel))]
        assert shown == actual


def test_mece_misspelt_taxonomy_key_is_positioned_with_a_hint(registry):
    text = SPEC % "  a:\n    segments: [buyers]\n    exclusiv: true"
    with pytest.raises(segrules.SpecError) as exc:
        segrules.load_text(text, "t.yaml", registry=registry)
    [diag] = exc.value.diagnostics
    assert diag.code == "SR105" and diag.hint == "did you mean 'exclusive'?"
    assert text.splitlines()[diag.span.line - 1][diag.span.column - 1:] == "exclusiv: true"


def test_mece_witness_budget_keeps_proofs_going(registry):
    checked = segrules.load(NOT_MECE, registry=registry).check()
    prover = Prover(checked, witness_budget_s=0)
    spent = prover.pair("new_customers", "active")
    assert spent.kind == "unknown" and "no witness searched" in spent.reason
    assert prover.pair("active", "lapsed").kind == "disjoint"  # proofs are not budgeted


def test_mece_unknown_fails_only_with_strict(tmp_path):
    path = tmp_path / "mail.yaml"
    path.write_text(SPEC % "  mail: {segments: [gmail, yahoo], exclusive: true}")
    result = _invoke("validate", path)
    assert result.exit_code == 0 and "MECE112" in result.output
    assert _invoke("validate", path, "--strict").exit_code == 1  # a failed check, not an invalid spec
