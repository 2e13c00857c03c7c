"""``segrules mece`` and ``segrules audit`` on data: the one-query figures agree with a plain
Python count over the evaluated membership (differential), on DuckDB and on PostgreSQL."""

from __future__ import annotations

import json
import os
import re
from datetime import datetime
from itertools import combinations
from pathlib import Path

import ibis
import pyarrow as pa
import pytest
from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules.demo import write_demo_data

ROOT = Path(__file__).resolve().parent.parent
LIFECYCLE = ROOT / "segment_specs" / "lifecycle.yaml"
NOT_MECE = ROOT / "segment_specs" / "lifecycle_not_mece.yaml"
NOW = datetime(2026, 11, 1, 6, 30)
AS_OF = NOW.isoformat()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("mece") / "shop.duckdb"
    write_demo_data(path, customers=1500, seed=7, now=NOW)
    return path


def _invoke(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def _reference(spec_path, con, taxonomy="lifecycle"):
    """Sizes, pair counts, entities in several / none, from the evaluated rows in Python."""
    spec = segrules.load(spec_path)
    names = spec.section("taxonomies")[taxonomy].segments
    rows = spec.evaluate(con, as_of=AS_OF, derived=False).to_pyarrow().to_pylist()
    in_how_many = {r[spec.key]: sum(r[s] for s in names) for r in rows}
    return {
        "universe": len(rows),
        "sizes": {s: sum(r[s] for r in rows) for s in names},
        "pairs": {(a, b): sum(r[a] and r[b] for r in rows) for a, b in combinations(names, 2)},
        "several": {k for k, n in in_how_many.items() if n > 1},
        "none": {k for k, n in in_how_many.items() if n == 0},
    }


def _check_against_reference(report, ref):
    [tax] = report["taxonomies"]
    assert tax["universe"] == ref["universe"]
    assert tax["sizes"] == ref["sizes"]
    assert {(p["a"], p["b"]): p["both"] for p in tax["pairs"]} == ref["pairs"]
    assert tax["in_several"] == len(ref["several"]) and tax["in_none"] == len(ref["none"])
    assert set(tax["in_several_samples"]) <= ref["several"] and set(tax["in_none_samples"]) <= ref["none"]
    assert len(tax["in_several_samples"]) == min(5, len(ref["several"]))
    for p in tax["pairs"]:
        if p["both"]:
            union = ref["sizes"][p["a"]] + ref["sizes"][p["b"]] - p["both"]
            assert p["jaccard"] == pytest.approx(p["both"] / union, abs=1e-6)


def test_mece_on_data_lifecycle_holds(shop):
    result = _invoke("mece", LIFECYCLE, "--db", shop, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"]
    ref = _reference(LIFECYCLE, ibis.duckdb.connect(str(shop), read_only=True))
    _check_against_reference(report, ref)
    assert not ref["several"] and not ref["none"]  # the proof holds on data, too
    assert sum(report["taxonomies"][0]["sizes"].values()) == ref["universe"]


def codes_count(report, code: str) -> int:
    return sum(d["code"] == code for t in report["taxonomies"] for d in t["diagnostics"])


def test_mece_on_data_violations_exit_1(shop):
    result = _invoke("mece", NOT_MECE, "--db", shop, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    ref = _reference(NOT_MECE, ibis.duckdb.connect(str(shop), read_only=True))
    _check_against_reference(report, ref)
    assert ref["several"]
    codes = {d["code"] for d in report["taxonomies"][0]["diagnostics"]}
    assert "MECE120" in codes and all(d["check"] for d in report["taxonomies"][0]["diagnostics"])
    text = _invoke("mece", NOT_MECE, "--db", shop, "--as-of", AS_OF, "--taxonomy", "lifecycle")
    assert text.exit_code == 1 and "in several segments" in text.stdout and "MECE120" in text.stderr
    github = _invoke("mece", NOT_MECE, "--db", shop, "--as-of", AS_OF, "--format", "github").stdout
    assert "::error file=" in github and "title=MECE120" in github
    spec_lines = NOT_MECE.read_text().splitlines()
    findings = github.splitlines()  # one annotation per finding, the other places named in its message
    assert len([x for x in findings if "title=MECE120" in x]) == codes_count(report, "MECE120")
    lines = {int(x.split("line=")[1].split(",")[0]) for x in findings}
    lines |= {int(n) for x in findings if "(also: " in x for n in re.findall(r":(\d+):\d+[,)]", x.split("(also: ")[1])}
    assert any(spec_lines[n - 1].strip().startswith("segments:") for n in lines)
    assert any(spec_lines[n - 1].strip().startswith("where: signup_at") for n in lines)
    junit = _invoke("mece", NOT_MECE, "--db", shop, "--as-of", AS_OF, "--format", "junit").stdout
    assert 'name="segrules mece"' in junit and "<failure" in junit


def test_mece_on_data_bad_input_exit_2(shop, tmp_path):
    assert _invoke("mece", NOT_MECE, "--db", shop, "--taxonomy", "nope").exit_code == 2
    assert _invoke("mece", ROOT / "segment_specs" / "ecommerce.yaml", "--db", shop).exit_code == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text(LIFECYCLE.read_text().replace("[new_customers,", "[new_customers, new_customers,"))
    result = _invoke("mece", bad, "--db", shop)
    assert result.exit_code == 2 and "MECE102" in result.stderr


def test_mece_priority_overlaps_are_resolved_not_violations(shop, tmp_path):
    text = NOT_MECE.read_text().replace("    exclusive: true\n", "    resolve: priority\n    else: other\n")
    path = tmp_path / "priority.yaml"
    path.write_text(text)
    result = _invoke("mece", path, "--db", shop, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    [tax] = json.loads(result.stdout)["taxonomies"]
    assert tax["in_several"] > 0 and [d["code"] for d in tax["diagnostics"]] == ["MECE122"]


def test_audit_findings(tmp_path):
    db = tmp_path / "a.duckdb"
    con = ibis.duckdb.connect(str(db))
    con.create_table("customers", pa.table({"customer_id": list(range(1, 101)), "x": list(range(1, 101))}))
    con.disconnect()
    spec = tmp_path / "audit.yaml"
    spec.write_text("""\
version: 1
name: audit
entity: {table: customers, key: customer_id}
segments:
  big: {where: x > 10}
  bigger: {where: x > 11}
  top: {where: x > 95}
  nobody: {where: x > 1000}
  low: {where: x <= 50}
taxonomies:
  sizes: {segments: [big, low]}
""")
    result = _invoke("audit", spec, "--db", db, "--format", "json", "--min-size", "10")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    found = {(d["code"], d["message"].split("'")[1]) for d in report["findings"]}
    assert found == {("MECE130", "nobody"), ("MECE131", "top"), ("MECE132", "big"), ("MECE133", "top")}
    sizes = {s["segment"]: (s["members"], s["taxonomies"]) for s in report["segments"]}
    assert sizes == {"big": (90, ["sizes"]), "bigger": (89, []), "top": (5, []), "nobody": (0, []),
                     "low": (50, ["sizes"])}
    text = _invoke("audit", spec, "--db", db, "--jaccard", "0.999", "--min-size", "0")
    assert text.exit_code == 1 and "⊆ big" in text.stdout and "MECE132" not in text.stderr
    clean = _invoke("audit", spec, "--db", db, "--jaccard", "1", "--min-size", "0", "--format", "github")
    assert clean.exit_code == 1 and "title=MECE133" in clean.stdout


URL = os.environ.get("SEGRULES_POSTGRES_URL")


@pytest.mark.skipif(not URL and os.environ.get("CI") != "true", reason="needs SEGRULES_POSTGRES_URL")
def test_mece_on_data_postgres_agrees_with_duckdb(shop, tmp_path):
    """The one query runs on PostgreSQL (tables prefixed, so parallel test runs do not clash)."""
    duck = ibis.duckdb.connect(str(shop), read_only=True)
    pg = ibis.connect(URL)
    for table in ("customers", "orders"):
        pg.create_table(f"mece_{table}", duck.table(table).to_pyarrow(), overwrite=True)
    text = NOT_MECE.read_text().replace("table: customers", "table: mece_customers").replace(
        "table: orders", "table: mece_orders")
    path = tmp_path / "pg.yaml"
    path.write_text(text)
    on_pg = _invoke("mece", path, "--db", URL, "--as-of", AS_OF, "--format", "json")
    on_duck = _invoke("mece", NOT_MECE, "--db", shop, "--as-of", AS_OF, "--format", "json")
    assert on_pg.exit_code == on_duck.exit_code == 1, on_pg.stderr
    pg_tax, duck_tax = json.loads(on_pg.stdout)["taxonomies"][0], json.loads(on_duck.stdout)["taxonomies"][0]
    for key in ("sizes", "pairs", "in_several", "in_none", "in_several_samples", "in_none_samples", "universe"):
        assert pg_tax[key] == duck_tax[key], key
