"""docs/project.md: its commands run on the repository's project and exit 0, the output it shows
is what the command prints, its Python example runs, and its selector table names every method."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from segrules.cli import main
from segrules.project.select import METHODS

ROOT = Path(__file__).resolve().parent.parent
PAGE = (ROOT / "docs" / "project.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    blocks = re.findall(r"^```sh\n(.*?)^```", PAGE, re.S | re.M)
    return [line.split("#")[0].strip() for block in blocks for line in block.splitlines()
            if line.startswith("segrules ")]


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@pytest.mark.parametrize("line", _commands())
def test_project_docs_command_exits_0(line):
    result = CliRunner().invoke(main, shlex.split(line)[1:])
    assert result.exit_code == 0, f"{line}\n{result.output}"


def test_project_docs_output_shown_is_current():
    shown = re.findall(r"<!-- output: (segrules [^\n]*) -->\n```text\n(.*?)```", PAGE, re.S)
    assert shown
    for line, text in shown:
        result = CliRunner().invoke(main, shlex.split(line)[1:])
        assert result.exit_code == 0 and result.stdout == text, f"{line}\n{result.stdout}"


def test_project_docs_python_example_runs(capsys):
    [code] = re.findall(r"^```python\n(.*?)^```", PAGE, re.S | re.M)
    exec(compile(code, "docs/project.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "segment_specs/ecommerce.yaml ['big_spenders', 'cart_abandoners', 'vip_not_browsing']" in printed


def test_project_docs_selector_table_names_every_method():
    for method in METHODS:
        assert method == "segment" or f"`{method}:" in PAGE
    assert "`+vip_not_browsing`" in PAGE and "`big_spenders+`" in PAGE
