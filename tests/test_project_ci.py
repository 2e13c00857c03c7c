"""The repository's own project (segrules.yml) passes what docs/ci.md runs: validate (each spec
on its target), test, mece and audit exit 0 on the demo data sets, run as the workflow runs them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CI = ROOT / "docs" / "ci.md"
BIN = Path(sys.executable).parent


def _workflow_commands(jobs: tuple[str, ...]) -> list[str]:
    block = re.search(r"^```yaml\n(.*?)^```", CI.read_text(encoding="utf-8"), re.S | re.M).group(1)
    workflow = yaml.safe_load(block)
    lines = []
    for job in jobs:
        for step in workflow["jobs"][job]["steps"]:
            lines += [line.strip() for line in step.get("run", "").splitlines() if line.strip().startswith("segrules ")]
    return lines


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the repository's project, and the demo data sets its targets read."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copy(ROOT / "segrules.yml", root)
    shutil.copytree(ROOT / "segment_specs", root / "segment_specs")
    shutil.copytree(ROOT / "models", root / "models")  # the predict plugin's trained artifacts
    data = tmp_path_factory.mktemp("data")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
           "SEGRULES_SHOP_DB": str(data / "shop.duckdb"), "SEGRULES_GROWTH_DB": str(data / "growth.duckdb"),
           "SEGRULES_ONBOARDING_DB": str(data / "onboarding.duckdb"), "SEGRULES_CHURN_DB": str(data / "churn.duckdb"),
           "SEGRULES_TRIAL_DB": str(data / "trial.duckdb")}
    env.pop("SEGRULES_DB_URL", None)
    for command in (["segrules", "demo-data", env["SEGRULES_SHOP_DB"]],
                    ["segrules", "cohort-demo", env["SEGRULES_GROWTH_DB"]],
                    [sys.executable, "-m", "segrules_cohorts.funnels.demo", env["SEGRULES_ONBOARDING_DB"]],
                    ["segrules", "predict-demo", "churn", env["SEGRULES_CHURN_DB"]],
                    ["segrules", "predict-demo", "trial", env["SEGRULES_TRIAL_DB"]]):
        subprocess.run(command, cwd=root, env=env, check=True, capture_output=True, timeout=600)
    return root, env


def _sh(line: str, root: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", line], cwd=root, env=env, capture_output=True, text=True, timeout=600)


def test_project_ci_commands_are_the_ones_checked():
    lines = _workflow_commands(("validate", "taxonomies"))
    assert [line.split()[1] for line in lines] == ["validate", "test", "test", "mece", "audit"]


@pytest.mark.parametrize("line", _workflow_commands(("validate", "taxonomies")))
def test_project_ci_step_exits_0_on_the_repository(project, line):
    root, env = project
    result = _sh(line, root, env)
    assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
    if "--format github" in line:  # no error or warning annotation; notices (intended overlaps) are fine
        assert not re.search(r"^::(error|warning) ", result.stdout, re.M), result.stdout


@pytest.mark.parametrize("command", ["validate"])  # offline; the others run as CI steps above
def test_project_ci_plain_commands_exit_0(project, command):
    root, env = project
    result = _sh(f"segrules {command}", root, env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_project_ci_audit_shows_the_intended_overlaps(project):
    root, env = project
    result = _sh("segrules audit --select spec:shop", root, env)
    assert result.returncode == 0, result.stderr
    assert "⊆ big_spenders" in result.stdout and "info[MECE134]" in result.stderr
    assert "findings; 4 intended overlaps" in result.stdout
