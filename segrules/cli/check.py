"""``segrules validate``."""

from __future__ import annotations

import sys

import click

from ..diagnostics import Severity, exit_code, render
from ..errors import SegrulesError
from ..formats import FORMATS, format_github, format_json, format_junit
from .console import EXIT_OK, show_diagnostics, user_errors
from .options import spec_options
from .registry import load_registry


@click.command("validate")
@spec_options(selects="Only the specs with these segments (--list: only these segments)")
@click.option("--db", metavar="URL", help="Check names and types against this database "
              "(default: the spec's schema: block; --target: the target's database).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="Output format: text for people, json, github (Actions annotations), junit (XML).")
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--list", "list_segments", is_flag=True, help="List each spec's (selected) segments with their "
              "tags and owners.")
@click.option("--use-targets", is_flag=True, help="Check each spec against its target's database "
              "(segrules.yml); a target without db: uses the spec's schema: block.")
@click.option("--skip-non-specs", is_flag=True, help="Of the files given, check only the project's specs "
              "(for pre-commit, which passes every changed YAML file); without segrules.yml, test files "
              "are skipped.")
def validate(specs, select, project, target, db, fmt, strict, list_segments, use_targets, skip_non_specs):
    """Check spec files: YAML, keys, expression syntax, names, types, cycles and plugin checks
    (e.g. taxonomies proved exclusive). SPECS are files, folders or globs (test files skipped);
    none: the project's specs (segrules.yml). Reports every problem in every file. Exit 0 when
    valid, 1 when valid but a check failed, 2 when invalid."""
    from .. import api
    from ..project.options import database, selection
    results: dict[str, list] = {}
    with user_errors():
        registry = load_registry()
        chosen = selection(specs, select, project, registry=registry, skip_non_specs=skip_non_specs)
        urls = {item.path: database(chosen, item, db, target).url if db or target or use_targets else None
                for item in chosen}
        cons = {url: api.connect(url, read_only=True) for url in dict.fromkeys(urls.values()) if url}
    for item in chosen:
        try:
            if item.error is not None:
                raise item.error
            diags = item.spec.validate(cons.get(urls[item.path]))
        except SegrulesError as exc:
            diags = exc.diagnostics
        results[item.path] = diags
    if fmt == "json":
        click.echo(format_json(results))
    elif fmt == "github":
        text = format_github(results)
        if text:
            click.echo(text)
    elif fmt == "junit":
        click.echo(format_junit(results))
    else:
        for item in chosen:
            path, diags = item.path, results[item.path]
            for d in diags:
                show_diagnostics(render(d) + "\n")
            n_err = sum(d.is_error for d in diags)
            n_warn = sum(d.severity is Severity.WARNING for d in diags)
            code = exit_code(diags, strict)
            status = click.style(*{0: ("valid", "green"), 1: ("check failed", "red"), 2: ("invalid", "red")}[code])
            click.echo(f"{path}: {status} ({n_err} error{'s' * (n_err != 1)}, "
                       f"{n_warn} warning{'s' * (n_warn != 1)})")
            if list_segments and item.spec is not None:
                click.echo(segment_list(item.spec, item.segments))
    sys.exit(max((exit_code(ds, strict) for ds in results.values()), default=EXIT_OK))


def segment_list(spec, names: list[str] | None) -> str:
    """The segments with their tags, owner and description (``validate --list``): indented
    columns, never cut (plain text: CI logs and pipes keep every character)."""
    rows = [("segment", "tags", "owner", "description")]
    for name in names or spec.model.segments:
        seg = spec.model.segments[name]
        rows.append((name, ", ".join(seg.tags), seg.owner or "", seg.description or ""))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3]).rstrip()
                     for row in rows)
