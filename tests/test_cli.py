"""CLI: exit codes, output formats, errors without tracebacks."""

import json
from xml.etree import ElementTree as ET

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from segrules.cli import main

from helpers import spec_text

SPEC = "segment_specs/ecommerce.yaml"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("db") / "shop.duckdb"
    result = CliRunner().invoke(main, ["demo-data", str(path), "--customers", "500", "--seed", "7"])
    assert result.exit_code == 0, result.output
    return str(path)


def invoke(*args):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def bad_spec(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(spec_text({"a": "country > 5", "b": "ltv >"}))
    return str(path)


def test_cli_validate_valid_spec_exit_0(shop):
    result = invoke("validate", SPEC, "--db", shop)
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_cli_validate_reports_all_errors_with_positions_exit_2(bad_spec):
    result = invoke("validate", bad_spec)
    assert result.exit_code == 2
    assert f"{bad_spec}:13:12: error[SR401]" in result.output
    assert f"{bad_spec}:15:" in result.output and "SR2" in result.output
    assert "^" in result.output and "Traceback" not in result.output


def test_cli_validate_json(bad_spec):
    result = invoke("validate", bad_spec, "--format", "json")
    payload = json.loads(result.stdout)
    assert payload["valid"] is False
    assert {d["code"][:3] for d in payload["files"][0]["diagnostics"]} == {"SR2", "SR4"}


def test_cli_validate_github_annotations(bad_spec):
    result = invoke("validate", bad_spec, "--format", "github")
    lines = result.stdout.strip().splitlines()
    assert lines and all(line.startswith("::error file=") for line in lines)
    assert any(",line=13,col=12," in line for line in lines)


def test_cli_validate_junit(bad_spec):
    result = invoke("validate", bad_spec, "--format", "junit")
    suites = ET.fromstring(result.stdout.split("?>", 1)[1])
    assert suites.tag == "testsuites" and suites.get("failures") == "1" and suites.get("tests") == "1"
    [case] = suites.findall("./testsuite/testcase")
    [failure] = case.findall("failure")  # every error of the spec in its one failure
    assert failure.text.count("error[SR") == 2 and set(failure.get("type").split(",")) >= {"SR401"}


def test_cli_validate_without_schema_still_checks_syntax(tmp_path):
    path = tmp_path / "noschema.yaml"
    path.write_text(spec_text({"a": "country >", "b": "true"}, schema=False))
    result = invoke("validate", str(path))
    assert result.exit_code == 2 and "SR2" in result.output
    path.write_text(spec_text({"a": "country > 5"}, schema=False))
    result = invoke("validate", str(path))
    assert result.exit_code == 0 and "SR120" in result.output  # not checked, and says so
    assert invoke("validate", str(path), "--strict").exit_code == 2


def test_cli_validate_yaml_error_no_traceback(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nname: [oops\n")
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    assert "SR101" in result.output and "Traceback" not in result.output


def test_cli_compile_prints_sql_for_dialect(shop):
    result = invoke("compile", SPEC, "--db", shop, "--dialect", "postgres", "--segment", "big_spenders")
    assert result.exit_code == 0, result.output
    assert "SELECT" in result.stdout and '"orders"' in result.stdout


def test_cli_run_prints_counts(shop):
    result = invoke("run", SPEC, "--db", shop, "--as-of", "2026-11-01")
    assert result.exit_code == 0, result.output
    for name in ("new_customers", "big_spenders", "eu_gmail"):
        assert name in result.stdout
    assert "universe: 500 customers" in result.stdout


def test_cli_run_out_long_and_wide(shop, tmp_path):
    long_path, wide_path = tmp_path / "long.parquet", tmp_path / "wide.parquet"
    assert invoke("run", SPEC, "--db", shop, "--out", str(long_path)).exit_code == 0
    assert invoke("run", SPEC, "--db", shop, "--out", str(wide_path), "--layout", "wide").exit_code == 0
    long, wide = pq.read_table(long_path), pq.read_table(wide_path)
    assert long.column_names == ["segment", "customer_id"]
    assert wide.num_rows == 500 and "ltv" in wide.column_names
    for seg in ("lapsed", "eu_gmail"):
        expected = sorted(r["customer_id"] for r in wide.to_pylist() if r[seg])
        got = sorted(r["customer_id"] for r in long.to_pylist() if r["segment"] == seg)
        assert got == expected


def test_cli_run_unknown_param_and_bad_as_of_exit_2(shop):
    assert invoke("run", SPEC, "--db", shop, "--param", "nope=1").exit_code == 2
    result = invoke("run", SPEC, "--db", shop, "--as-of", "last tuesday")
    assert result.exit_code == 2 and "SR109" in result.output


def test_cli_run_missing_database_exit_2(tmp_path):
    result = invoke("run", SPEC, "--db", str(tmp_path / "nope.duckdb"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_cli_preview_shows_values_that_put_members_there(shop):
    result = invoke("preview", SPEC, "big_spenders", "--db", shop, "--limit", "3")
    assert result.exit_code == 0, result.output
    assert "sum(orders.amount where status == 'paid' within 90d)" in result.stdout.replace("\n", "") or \
        "sum(orders.amount" in result.stdout


def test_cli_schema_is_json_schema_of_the_spec():
    result = invoke("schema")
    schema = json.loads(result.stdout)
    assert {"version", "name", "entity", "segments", "schema"} <= set(schema["properties"])


def test_cli_plugins_lists_builtin_files_plugin():
    result = invoke("plugins")
    assert result.exit_code == 0 and "files" in result.stdout and "parquet" in result.stdout


def test_cli_preview_shows_plugin_namespace_values(shop):
    """win_back reads rfm.label and rfm.monetary: both are shown, and they explain membership."""
    import segrules
    from segrules.preview import preview_members
    spec = segrules.load(SPEC)
    table = preview_members(spec, segrules.connect(shop, read_only=True), "win_back", limit=5).to_pylist()
    assert table, "the demo shop has win-back customers"
    for row in table:
        assert row["rfm.label"] in ("At Risk", "Can't Lose Them") and row["rfm.monetary"] > 300
