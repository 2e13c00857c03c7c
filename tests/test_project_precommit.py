"""The pre-commit hook passes on the repository: its entry run as pre-commit runs it, on every
tracked YAML file its `files:` pattern matches (spec tests and non-spec YAML included)."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _segrules() -> list[str]:
    script = Path(sys.executable).parent / "segrules"
    return [str(script)] if script.exists() else [sys.executable, "-m", "segrules.cli"]


def _hook() -> dict:
    [hook] = [h for h in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text()) if h["id"] == "segrules-validate"]
    return hook


def _tracked_yaml(pattern: str) -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts]
    else:
        files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    # `types: [yaml]` (pre-commit's identify: the .yaml/.yml extensions), then `files:`
    return sorted(f for f in files if f.endswith((".yaml", ".yml")) and re.search(pattern, f))


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_project_precommit_hook_passes_on_the_repository():
    hook = _hook()
    files = _tracked_yaml(hook["files"])
    assert any(f.endswith(".test.yaml") for f in files) and ".pre-commit-hooks.yaml" in files
    assert "segrules.yml" in files and "segment_specs/lifecycle_not_mece.yaml" in files
    command, *args = shlex.split(hook["entry"])
    assert command == "segrules"
    result = _run(_segrules() + args + files)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = {line.split(":")[0] for line in result.stdout.splitlines() if ": valid" in line}
    assert "segment_specs/ecommerce.yaml" in checked
    assert not any(f.endswith(".test.yaml") or f.startswith("docs/") for f in checked)
    assert "segment_specs/lifecycle_not_mece.yaml" not in checked  # excluded in segrules.yml


def test_project_precommit_without_skip_an_excluded_spec_named_outright_is_checked():
    """A file named outright is checked (the docs show the failing example on purpose)."""
    result = _run(_segrules() + ["validate", "segment_specs/lifecycle_not_mece.yaml",
                                 "segment_specs/lifecycle_not_mece.test.yaml"])
    assert result.returncode == 1 and "lifecycle_not_mece.yaml: check failed" in result.stdout
    assert "test.yaml" not in result.stdout
