"""README.md's two set-up commands: the demo line runs as written in a fresh copy of the repository
(a new virtual environment, a real ``pip install -e .``: what a new user does first), and the test
command is exactly what CI runs (the last line of ``.ci/run``). The other README commands run in
tests/test_docs_commands.py."""

from __future__ import annotations

import subprocess

import docs_commands as dc

SETUP = dc.blocks("README.md")[:2]


def test_readme_setup_blocks_are_the_first_two():
    demo, tests = ([c.text for c in block.commands] for block in SETUP)
    assert len(demo) == len(tests) == 1
    assert "segrules demo-data shop.duckdb" in demo[0] and "segrules run segment_specs/ecommerce.yaml" in demo[0]
    assert tests[0].endswith("pytest -q")


def test_readme_test_command_is_what_ci_runs():
    ci = (dc.ROOT / ".ci" / "run").read_text(encoding="utf-8").rstrip("\n").splitlines()
    assert SETUP[1].commands[0].text == ci[-1]


def test_readme_demo_line_runs_in_a_fresh_venv(tmp_path):
    """The line as written, in a copy of the repository without a .venv: it installs the package,
    writes the demo shop and prints the segment table of the fixed demo date."""
    clone = dc.fresh_clone(tmp_path)
    env = dc.environment(clone)
    env["PATH"] = env["PATH"].split(":", 1)[1]  # not this test run's venv: the one the line makes
    done = subprocess.run(["bash", "-c", SETUP[0].commands[0].text], cwd=clone, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1800)
    assert done.returncode == 0, done.stdout[-5000:]
    assert (clone / ".venv" / "bin" / "segrules").exists() and (clone / "shop.duckdb").exists()
    assert "customers: 10,000 rows" in done.stdout
    assert "as of 2026-10-01 00:00:00" in done.stdout and "universe: 10,000 customers" in done.stdout
    assert "│ champions         │     935 │  9.3% │" in done.stdout  # the fixed shop's numbers
