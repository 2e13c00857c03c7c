"""``--select``'s help says what a selection does for each command: the segments themselves
(run, compile, audit), the specs that have them (a report per spec: rfm, cohort, experiment,
funnel; validate), the one spec that has them (changes, plan, backfill, sync), the taxonomies
(mece), the tests (test)."""

import re

import pytest
from click.testing import CliRunner

from segrules.cli import main

SELECTS = {
    "run": "Only these segments:", "compile": "Only these segments:", "audit": "Only these segments:",
    "rfm": "Only the specs with these segments (each spec whole):",
    "cohort": "Only the specs with these segments (each spec whole):",
    "experiment": "Only the specs with these segments (each spec whole):",
    "funnel": "Only the specs with these segments (each spec whole):",
    "train": "Only the specs with these segments (each spec whole):",
    "clusters": "Only the specs with these segments (each spec whole):",
    "validate": "Only the specs with these segments (--list: only these segments):",
    "changes": "The spec with these segments (all in one spec):",
    "plan": "The spec with these segments (all in one spec):",
    "backfill": "The spec with these segments (all in one spec):",
    "sync": "The spec with these segments (all in one spec):",
    "mece": "Only the taxonomies with these segments:",
    "test": "Only the tests of the specs with these segments:",
}


def _select_help(command: str) -> str:
    result = CliRunner().invoke(main, [command, "--help"], prog_name="segrules", terminal_width=400)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if "--select SELECTOR" in line)
    return re.sub(r"\s+", " ", line.split("--select SELECTOR", 1)[1]).strip()


@pytest.mark.parametrize("command", sorted(SELECTS))
def test_cli_select_help_says_what_the_command_selects(command):
    text = _select_help(command)
    assert text.startswith(SELECTS[command]), text
    assert "tag:TAG, owner:OWNER, path:GLOB, spec:NAME" in text  # the selector syntax, written once
