"""``segrules validate``."""

from __future__ import annotations

import sys

import click

from ..diagnostics import Severity, exit_code, render
from ..errors import SegrulesError
from ..formats import FORMATS, format_github, format_json, format_junit
from .console import EXIT_OK, show_diagnostics, user_errors
from .registry import load_registry


@click.command("validate")
@click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--db", metavar="URL", help="Check names and types against this database "
              "(default: the spec's schema: block).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format: text for people, json, github (Actions annotations), junit (XML).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def validate(specs, db, fmt, strict):
    """Check spec files: YAML, keys, expression syntax, names, types, cycles and plugin checks
    (e.g. taxonomies proved exclusive). Reports every problem in every file. Exit 0 when valid,
    1 when valid but a check failed, 2 when invalid."""
    from .. import api
    results: dict[str, list] = {}
    with user_errors():
        registry = load_registry()
        con = api.connect(db, read_only=True) if db else None
    for path in specs:
        try:
            spec = api.load(path, registry=registry)
            diags = spec.validate(con)
        except SegrulesError as exc:
            diags = exc.diagnostics
        results[path] = diags
    if fmt == "json":
        click.echo(format_json(results))
    elif fmt == "github":
        text = format_github(results)
        if text:
            click.echo(text)
    elif fmt == "junit":
        click.echo(format_junit(results))
    else:
        for path, diags in results.items():
            for d in diags:
                show_diagnostics(render(d) + "\n")
            n_err = sum(d.is_error for d in diags)
            n_warn = sum(d.severity is Severity.WARNING for d in diags)
            code = exit_code(diags, strict)
            status = click.style(*{0: ("valid", "green"), 1: ("check failed", "red"), 2: ("invalid", "red")}[code])
            click.echo(f"{path}: {status} ({n_err} error{'s' * (n_err != 1)}, "
                       f"{n_warn} warning{'s' * (n_warn != 1)})")
    sys.exit(max((exit_code(ds, strict) for ds in results.values()), default=EXIT_OK))
