"""``segrules test``: run spec unit tests (``<spec>.test.yaml``) on in-memory DuckDB."""

from __future__ import annotations

import sys

import click

from ..diagnostics import render
from ..formats import FORMATS
from .console import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, show_diagnostics, user_errors
from .options import SELECTORS, project_option
from .registry import load_registry


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--select", "-s", "select", multiple=True, metavar="SELECTOR", help="Only the tests of the specs with "
              f"these segments: {SELECTORS}")
@project_option
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format: text, json, github (Actions annotations), junit (XML).")
def test_command(paths, select, project, fmt):
    """Run the unit tests of specs: each PATH is a spec (its SPEC.test.yaml beside it is run), a
    test file, or a folder (every *.test.yaml under it); no PATH: the tests of the project's specs
    (segrules.yml). Fixture tables are loaded into in-memory DuckDB; no database is needed. Exit 0
    when every case passes, 1 when one fails, 2 on bad input."""
    from ..project.resolve import resolve
    from ..testing.report import FORMATTERS
    from ..testing.runner import find_test_files, run_test_file, tests_of
    with user_errors():
        registry = load_registry()
        if paths and not select:
            files, problems = find_test_files(list(paths))
        else:  # the project's specs, or the selected ones: the tests they have
            chosen = resolve(list(paths), list(select), project=project, registry=registry)
            files, problems = [tests_of(c.path) for c in chosen if tests_of(c.path).is_file()], []
    for problem in problems:
        show_diagnostics(render(problem))
    results = [run_test_file(path, registry) for path in files]
    click.echo(FORMATTERS[fmt](results))
    if problems or any(fr.errors for fr in results) or not files:
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(EXIT_OK if all(fr.passed for fr in results) else EXIT_CHECK_FAILED)
