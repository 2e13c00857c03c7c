"""docs/plugins/cohorts.md is true: its codes are the plugin's, the generated data is deterministic,
and the examples of docs/cli.md write their reports (tests/test_docs_commands.py runs every command
of the pages and compares the output shown)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from segrules.cli import main
from segrules_cohorts.demo import write_growth_demo

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "plugins" / "cohorts.md").read_text(encoding="utf-8")
PLUGIN = ROOT / "plugins" / "segrules_cohorts"


def test_cohorts_docs_every_code_documented_and_used():
    used = set()
    for path in PLUGIN.rglob("*.py"):
        used |= set(re.findall(r'"(COH\d{3})"', path.read_text(encoding="utf-8")))
    documented = set(re.findall(r"^\| (COH\d{3}) \|", DOC, re.M))
    assert used == documented


@pytest.fixture(scope="module")
def growth(tmp_path_factory):
    db = tmp_path_factory.mktemp("growth") / "growth.duckdb"
    result = CliRunner().invoke(main, ["cohort-demo", str(db)])
    assert result.exit_code == 0, result.output
    return db


def test_cohorts_demo_is_deterministic(tmp_path):
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    assert write_growth_demo(a) == write_growth_demo(b)
    import duckdb
    for table in ("purchases", "logins", "activity"):
        rows = [duckdb.connect(str(p), read_only=True).table(table).order("ALL").fetchall() for p in (a, b)]
        assert rows[0] == rows[1]


CLI = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
CLI_EXAMPLES = re.findall(r"```sh\n(segrules (?:cohort|experiment|cohort-demo) .*?)\n```", CLI)


@pytest.mark.parametrize("command", CLI_EXAMPLES)
def test_cohorts_docs_cli_examples_run(growth, command, tmp_path, monkeypatch):
    """The examples of docs/cli.md run (in a scratch folder, against the generated data)."""
    assert len(CLI_EXAMPLES) == 2
    monkeypatch.chdir(tmp_path)
    (tmp_path / "segment_specs").symlink_to(ROOT / "segment_specs")
    args = [str(growth) if a == "growth.duckdb" else a for a in shlex.split(command)[1:]]
    result = CliRunner().invoke(main, args, env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    assert "Retention of" in result.output or "Experiment template_feature" in result.output
    if "--out" in args:
        out = tmp_path / args[args.index("--out") + 1]
        assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>") and out.with_suffix(".png").exists()
