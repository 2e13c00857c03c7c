"""Command output for machines and logs: tables whole off a terminal, ``run --format json``,
renamed options (the old spellings still work, with a warning), one GitHub annotation per
finding, one JUnit shape for ``validate`` and ``test``."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules.diagnostics import Diagnostic, Span
from segrules.formats import format_github, format_junit

from helpers import spec_text

from test_cli import SPEC, shop  # noqa: F401  (the demo shop of 500 customers, a module fixture)

LONG = "customers_who_spent_a_great_deal_in_the_last_year_and_still_open_every_newsletter"


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _reference_counts(shop) -> dict[str, int]:
    spec = segrules.load(SPEC)
    wide = spec.evaluate(segrules.connect(shop, read_only=True), as_of="2026-11-01").to_pyarrow()
    return {name: sum(bool(v) for v in wide[name].to_pylist()) for name in spec.segments}


# --- tables off a terminal --------------------------------------------------------------------------
def test_cli_output_tables_are_whole_off_a_terminal(shop, tmp_path):
    spec = tmp_path / "long.yaml"
    text = open(SPEC, encoding="utf-8").read().replace("big_spenders:", f"{LONG}:").replace(
        "segment('big_spenders')", f"segment('{LONG}')")
    spec.write_text(text, encoding="utf-8")
    result = invoke("run", spec, "--db", shop, "--as-of", "2026-11-01")  # CliRunner: not a terminal
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if LONG in line]
    assert len(row) > 100 and "…" not in result.stdout  # wider than 80 columns, nothing cut
    assert all(len(line) <= len(row) for line in result.stdout.splitlines() if "│" in line)


def test_cli_output_sync_log_run_ids_on_one_line(tmp_path):
    from segrules.state import open_state
    from segrules.sync.state import SyncState
    state = SyncState(open_state(tmp_path / "state.duckdb"))
    state.ensure()
    from datetime import datetime
    long_name = "a_sync_with_a_name_long_enough_to_push_the_table_past_eighty_columns"
    state.log_run("0123456789abcdef", long_name, "a_destination_name", "mirror", datetime(2026, 1, 1), "ok",
                  {"added": 1}, None, ended_at=datetime(2026, 1, 1, 0, 1))
    state.store.con.disconnect()
    result = invoke("sync-log", "--state", tmp_path / "state.duckdb")
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if long_name in line]
    assert "0123456789abcdef" in row and "…" not in result.stdout
    assert "destination" not in result.stdout or "desti…" not in result.stdout


# --- run --format json -------------------------------------------------------------------------------
def test_cli_output_run_json_has_the_counts(shop, tmp_path):
    out = tmp_path / "members.parquet"
    result = invoke("run", SPEC, "--db", shop, "--as-of", "2026-11-01", "--format", "json", "--out", out)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["spec"] == "shop" and payload["path"] == SPEC and payload["as_of"] == "2026-11-01 00:00:00"
    assert payload["universe"] == 500 and payload["entity_table"] == "customers"
    counts = {row["segment"]: row["members"] for row in payload["segments"]}
    assert counts == _reference_counts(shop)
    assert all(row["share"] == pytest.approx(row["members"] / 500) for row in payload["segments"])
    assert payload["output"] == {"target": str(out), "rows": pq.read_table(out).num_rows, "layout": "long"}
    assert payload["snapshot"] is None


def test_cli_output_run_json_with_snapshot(shop, tmp_path):
    state = tmp_path / "state.duckdb"
    result = invoke("run", SPEC, "--db", shop, "--as-of", "2026-11-01", "--format", "json", "--snapshot",
                    "--state", state)
    assert result.exit_code == 0, result.output
    snap = json.loads(result.stdout)["snapshot"]
    assert snap["seq"] == 1 and snap["location"] == str(state) and snap["exited"] == 0
    assert snap["entered"] == sum(_reference_counts(shop).values()) and len(snap["run_id"]) >= 8


# --- renamed options -----------------------------------------------------------------------------------
def test_cli_output_run_layout_and_its_old_spelling(shop, tmp_path):
    new, old = tmp_path / "new.parquet", tmp_path / "old.parquet"
    fresh = invoke("run", SPEC, "--db", shop, "--out", new, "--layout", "wide")
    assert fresh.exit_code == 0 and "deprecated" not in fresh.stderr
    renamed = invoke("run", SPEC, "--db", shop, "--out", old, "--format", "wide")
    assert renamed.exit_code == 0, renamed.output
    assert "warning: --format wide is deprecated" in renamed.stderr and "use --layout wide" in renamed.stderr
    assert "warning" not in renamed.stdout and "wrote 500 rows (wide)" in renamed.stdout
    assert pq.read_table(old).column_names == pq.read_table(new).column_names
    assert invoke("run", SPEC, "--db", shop, "--format", "xml").exit_code == 2


def test_cli_output_compile_segments_and_its_old_spelling():
    spec = "segment_specs/lifecycle.yaml"  # it has a schema: block: compiles offline
    fresh = invoke("compile", spec, "--segments", "lapsed,never_purchased", "--as-of", "2026-01-01")
    old = invoke("compile", spec, "--segment", "lapsed", "--segment", "never_purchased", "--as-of", "2026-01-01")
    assert fresh.exit_code == 0 and old.exit_code == 0, old.output
    assert fresh.stdout == old.stdout and "deprecated" not in fresh.stderr
    assert "warning: --segment is deprecated" in old.stderr and "use --segments A,B" in old.stderr
    assert '"lapsed"' in fresh.stdout and '"at_risk"' not in fresh.stdout
    assert "--segment " not in invoke("compile", "--help").stdout  # the old spelling is not shown


def test_cli_output_sync_log_out_and_its_old_spelling(tmp_path):
    from segrules.state import open_state
    from segrules.sync.state import SyncState
    state = SyncState(open_state(tmp_path / "state.duckdb"))
    state.ensure()
    state.store.con.disconnect()
    fresh = invoke("sync-log", "--state", tmp_path / "state.duckdb", "--out", tmp_path / "a.csv")
    old = invoke("sync-log", "--state", tmp_path / "state.duckdb", "--export", tmp_path / "b.csv")
    assert fresh.exit_code == 0 and old.exit_code == 0, old.output
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    assert "warning: --export is deprecated" in old.stderr and "deprecated" not in fresh.stderr


# --- github and junit ---------------------------------------------------------------------------------
def test_cli_output_github_one_annotation_per_finding():
    d = Diagnostic("MECE120", "customers in several segments", Span("s.yaml", 3, 5),
                   related=(Span("s.yaml", 7, 5), Span("s.yaml", 9, 5)))
    [line] = format_github({"s.yaml": [d]}).splitlines()
    assert line.startswith("::error file=s.yaml,line=3,col=5,title=MECE120::customers in several segments")
    assert line.endswith("(also: s.yaml:7:5, s.yaml:9:5)")


def _shape(xml: str) -> list:
    """The structure of a JUnit document: the root tag, and per suite per case its problem tags."""
    root = ET.fromstring(xml.split("?>", 1)[1])
    return [root.tag, [[sorted(child.tag for child in case if child.tag in ("failure", "error"))
                        for case in suite.iter("testcase")] for suite in root]]


def test_cli_output_junit_one_shape_for_validate_and_test(tmp_path):
    spec = tmp_path / "shop.yaml"
    spec.write_text(spec_text({"a": "country > 5", "b": "ltv >"}), encoding="utf-8")  # two errors
    validate = invoke("validate", spec, "--format", "junit")
    assert validate.exit_code == 2
    tests = tmp_path / "lifecycle.yaml"
    tests.write_text(open("segment_specs/lifecycle.yaml", encoding="utf-8").read(), encoding="utf-8")
    cases = open("segment_specs/lifecycle.test.yaml", encoding="utf-8").read()
    cases = cases.replace("1: {in: [never_purchased], not_in: [new_customers, active,",
                          "1: {in: [active, lapsed], not_in: [never_purchased, new_customers,")
    (tmp_path / "lifecycle.test.yaml").write_text(cases, encoding="utf-8")  # case 1 fails three expectations
    test = invoke("test", tests, "--format", "junit")
    assert test.exit_code == 1, test.output
    for xml in (validate.stdout, test.stdout):
        tag, suites = _shape(xml)
        assert tag == "testsuites" and suites
        assert all(len(problems) <= 1 for cases in suites for problems in cases)  # one failure per case at most
    assert _shape(validate.stdout)[1] == [[["failure"]]]
    failed = [p for cases in _shape(test.stdout)[1] for p in cases if p]
    assert failed == [["failure"]]  # the three failed expectations of case 1 in one failure
    [failure] = ET.fromstring(test.stdout.split("?>", 1)[1]).iter("failure")
    assert failure.text.count("error[SR140]") == 3
    root = ET.fromstring(test.stdout.split("?>", 1)[1])
    assert int(root.get("failures")) == len(failed) and int(root.get("tests")) >= len(failed)


def test_cli_output_junit_all_diagnostics_of_a_spec_in_one_failure():
    diags = [Diagnostic("SR401", "first", Span("a.yaml", 1, 1)), Diagnostic("SR402", "second", Span("a.yaml", 2, 1))]
    root = ET.fromstring(format_junit({"a.yaml": diags, "b.yaml": []}).split("?>", 1)[1])
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "2", "1")
    [failure] = root.iter("failure")
    assert failure.get("type") == "SR401,SR402" and "error[SR401]: first" in failure.text
    assert "error[SR402]: second" in failure.text and "(and 1 more)" in failure.get("message")
