"""docs/ci.md: the GitHub Actions workflow is valid YAML with validate and plan jobs, and every
segrules command line in the page uses commands and options that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import yaml

from segrules.cli import main

CI = Path(__file__).resolve().parent.parent / "docs" / "ci.md"


def _workflow() -> dict:
    block = re.search(r"^```yaml\n(.*?)^```", CI.read_text(encoding="utf-8"), re.S | re.M).group(1)
    return yaml.safe_load(block)


def test_ci_docs_workflow_has_validate_plan_and_snapshot_jobs():
    workflow = _workflow()
    jobs = workflow["jobs"]
    assert {"validate", "plan", "snapshot"} <= set(jobs)
    scripts = {name: "\n".join(step.get("run", "") for step in job["steps"]) for name, job in jobs.items()}
    assert "segrules validate" in scripts["validate"] and "segrules test" in scripts["validate"]
    assert "segrules plan" in scripts["plan"] and "--max-change" in scripts["plan"]
    assert "--snapshot" in scripts["snapshot"]
    assert jobs["plan"]["needs"] == "validate" and jobs["plan"]["permissions"]["pull-requests"] == "write"


def test_ci_docs_command_lines_use_real_commands_and_options():
    blocks = re.findall(r"^```\w*\n(.*?)^```", CI.read_text(encoding="utf-8"), re.S | re.M)
    text = "\n".join(blocks).replace("\\\n", " ")
    lines = re.findall(r"segrules ([a-z-]+)((?: [^\n;|>&]*)?)", text)
    assert len(lines) >= 6
    for name, rest in lines:
        command = main.get_command(None, name)
        assert command is not None, f"docs/ci.md uses an unknown command: segrules {name}"
        options = {opt for p in command.params for opt in p.opts + p.secondary_opts}
        for word in shlex.split(rest.replace('"', "")):
            if word.startswith("--"):
                assert word.split("=")[0] in options, f"segrules {name}: unknown option {word}"
