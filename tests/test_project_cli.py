"""The CLI on a project: commands without spec arguments, --select, targets (db and as_of),
the project's state store and its command defaults (SR171), a target without a database (SR170)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from segrules.cli import main
from segrules.demo import write_demo_data

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 1, 6, 30)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("shop") / "shop.duckdb"
    write_demo_data(path, customers=800, seed=7, now=NOW)
    return path


@pytest.fixture
def project(tmp_path, shop, monkeypatch):
    (tmp_path / "specs").mkdir()
    for name in ("ecommerce", "lifecycle"):
        for suffix in (".yaml", ".test.yaml"):
            source = ROOT / "segment_specs" / f"{name}{suffix}"
            if source.exists():
                (tmp_path / "specs" / source.name).write_text(source.read_text())
    (tmp_path / "segrules.yml").write_text(f"""\
version: 1
specs:
  - specs
  - {{path: specs/lifecycle.yaml, target: nodata}}
target: shop
targets:
  shop: {{db: "${{SHOP_DB:-{shop}}}", as_of: {NOW.isoformat()}}}
  nodata: {{}}
state: state/history.duckdb
""")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _invoke(*args):
    return CliRunner().invoke(main, list(map(str, args)))


def test_project_cli_validate_lists_segments_with_tags_and_owners(project):
    result = _invoke("validate", "--select", "tag:crm", "--list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("specs/ecommerce.yaml: valid")
    assert [ln.split()[0] for ln in lines[2:]] == ["big_spenders", "cart_abandoners", "vip_not_browsing"]
    assert "crm, value" in lines[2] and lines[2].split()[-1] == "crm"


def test_project_cli_run_the_project_on_its_targets(project):
    result = _invoke("run")
    assert result.exit_code == 0, result.output
    assert "specs/lifecycle.yaml: skipped, target 'nodata' has no database" in result.stderr
    assert "as of 2026-11-01 06:30:00" in result.stdout  # the target's as_of
    assert "┃ tags" in result.stdout and "┃ owner" in result.stdout
    assert "│ big_spenders      │" in result.stdout


def test_project_cli_run_selection_counts_agree_with_segments_option(project):
    selected = _invoke("run", "--select", "+vip_not_browsing")
    direct = _invoke("run", "specs/ecommerce.yaml", "--segments", "big_spenders,frequent_browsers,vip_not_browsing")
    assert selected.exit_code == 0 and direct.exit_code == 0, selected.output + direct.output
    assert selected.stdout == direct.stdout


def test_project_cli_target_without_database_is_sr170(project):
    result = _invoke("run", "specs/lifecycle.yaml")
    assert result.exit_code == 2 and "error[SR170]" in result.stderr and "'nodata'" in result.stderr
    assert _invoke("run", "specs/lifecycle.yaml", "--target", "shop").exit_code == 0


def test_project_cli_unknown_target_option_is_sr161(project):
    result = _invoke("run", "--target", "prod")
    assert result.exit_code == 2 and "error[SR161]" in result.stderr


def test_project_cli_preview_finds_the_spec_of_the_segment(project):
    result = _invoke("preview", "vip_not_browsing", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert "vip_not_browsing: 2 sample members" in result.stdout


def test_project_cli_compile_one_spec_of_a_selection(project):
    assert _invoke("compile", "-s", "big_spenders", "--target", "shop").exit_code == 0
    several = _invoke("compile", "--target", "shop")
    assert several.exit_code == 2 and "error[SR167]" in several.stderr


def test_project_cli_test_runs_the_project_tests(project):
    result = _invoke("test")
    assert result.exit_code == 0, result.output
    assert "specs/ecommerce.test.yaml" in result.stdout and "specs/lifecycle.test.yaml" in result.stdout
    only = _invoke("test", "--select", "spec:lifecycle")
    assert "ecommerce.test.yaml" not in only.stdout and "lifecycle.test.yaml" in only.stdout


def test_project_cli_snapshot_goes_to_the_project_state_store(project):
    result = _invoke("run", "specs/ecommerce.yaml", "--snapshot")
    assert result.exit_code == 0, result.output
    assert (project / "state" / "history.duckdb").exists()
    changes = _invoke("changes", "specs/ecommerce.yaml", "--limit", "1")
    assert changes.exit_code == 0, changes.output


def test_project_cli_mece_and_audit_on_the_project(project):
    mece = _invoke("mece", "--target", "shop", "--format", "json")
    assert mece.exit_code == 0, mece.output
    assert json.loads(mece.stdout)["spec"] == "specs/lifecycle.yaml"  # the one spec with taxonomies
    audit = _invoke("audit", "--target", "shop", "--format", "json")
    reports = json.loads(audit.stdout)
    assert [r["spec"] for r in reports] == ["specs/ecommerce.yaml", "specs/lifecycle.yaml"]


def test_project_cli_defaults_apply_and_are_checked(project):
    text = (project / "segrules.yml").read_text()
    (project / "segrules.yml").write_text(text + "defaults:\n  validate: {list: true, format: json}\n")
    result = _invoke("validate", "specs/ecommerce.yaml")
    assert result.exit_code == 0 and json.loads(result.stdout)  # format: json from the defaults
    assert _invoke("validate", "specs/ecommerce.yaml", "--format", "text").stdout.startswith("specs/ecommerce.yaml")
    (project / "segrules.yml").write_text(text + "defaults:\n  validate: {strictt: true}\n  valdate: {}\n")
    bad = _invoke("validate")
    assert bad.exit_code == 2
    assert "segrules.yml:11:14: error[SR171]: defaults: validate has no option 'strictt'" in bad.stderr
    assert "segrules.yml:12:3: error[SR171]: defaults: no command 'valdate'" in bad.stderr


def test_project_cli_bad_project_file_is_positioned(project):
    (project / "segrules.yml").write_text("version: 1\nspecs: specs\n")
    result = _invoke("validate")
    assert result.exit_code == 2 and "segrules.yml:2:8: error[SR100]" in result.stderr
