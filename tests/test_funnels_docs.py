"""docs/plugins/funnels.md is true: its codes are the plugin's, its section example is the shipped
spec's funnel, and the onboarding situation has the planted drop-off (tests/test_docs_commands.py
runs the page's commands and compares what they print)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules_cohorts.funnels.report import compute_report

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "plugins" / "funnels.md").read_text(encoding="utf-8")
PLUGIN = ROOT / "plugins" / "segrules_cohorts" / "funnels"
SPEC = "segment_specs/saas_onboarding.yaml"
AS_OF = "2025-06-01"


@pytest.fixture(scope="module")
def onboarding(tmp_path_factory):
    """The page's first command, run as shown: the generated database and what it printed."""
    db = tmp_path_factory.mktemp("onboarding") / "onboarding.duckdb"
    shown = re.search(r"^\$ python -m (segrules_cohorts\.funnels\.demo) onboarding\.duckdb$", DOC, re.M)
    done = subprocess.run([sys.executable, "-m", shown.group(1), str(db)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return db, done.stdout


def test_funnels_docs_every_code_documented_and_used():
    used = set()
    for path in PLUGIN.glob("*.py"):
        used |= set(re.findall(r'"(FNL\d{3})"', path.read_text(encoding="utf-8")))
    documented = set(re.findall(r"^\| (FNL\d{3}) \|", DOC, re.M))
    assert used == documented and used


def test_funnels_docs_section_example_is_the_shipped_funnel():
    example = yaml.safe_load(re.search(r"```yaml\n(funnels:\n.*?)```", DOC, re.S).group(1))
    shipped = yaml.safe_load((ROOT / SPEC).read_text(encoding="utf-8"))
    assert example["funnels"] == shipped["funnels"]


def test_funnels_docs_situation_finds_the_planted_drop_off(onboarding):
    spec = segrules.load(ROOT / SPEC)
    con = segrules.connect(str(onboarding[0]), read_only=True)
    report = compute_report(spec, con, "onboarding", as_of=AS_OF)
    assert report.steps[report.biggest_drop].label == "Invited Teammate"
    assert 0.045 < report.steps[-1].overall_conversion < 0.055  # "only 5% become paying"
    size, source = report.breakdowns
    assert size.drop_test.p_value < 1e-20  # the invitation rate is planted by company size ...
    assert source.drop_test.p_value > 0.05  # ... and not by traffic source
    assert source.conversion_test.p_value < 1e-3  # which plants project creation and upgrades


def test_funnels_docs_run_gives_the_funnel_stages_as_segments(onboarding, monkeypatch):
    """The page's `segrules run` line: its segments are the funnel's stages, so their sizes are the
    differences of the users per step."""
    monkeypatch.chdir(ROOT)
    line = re.search(r"`segrules (run segment_specs/saas_onboarding\.yaml --db\s+onboarding\.duckdb .*?)`", DOC,
                     re.S).group(1).split()
    out = onboarding[0].with_name("stages.csv")
    args = [str(onboarding[0]) if a == "onboarding.duckdb" else a for a in line]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    import pyarrow.csv as pacsv
    counts = {}
    for row in pacsv.read_csv(out).to_pylist():
        counts[row["segment"]] = counts.get(row["segment"], 0) + 1
    users = [s.users for s in compute_report(segrules.load(ROOT / SPEC), segrules.connect(str(onboarding[0]),
                                                                                             read_only=True),
                                              "onboarding", as_of=AS_OF).steps]
    assert counts == {"never_started_a_project": users[0] - users[1], "stuck_before_invite": users[1] - users[2],
                      "invited_not_upgraded": users[2] - users[3], "converted": users[3]}
