"""``segrules schema``, ``plugins`` and ``demo-data``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .console import err, out, user_errors
from .registry import load_registry


@click.command("schema")
@click.option("--test-file", "test_file", is_flag=True, help="The schema of spec test files (*.test.yaml) instead.")
@click.option("--project-file", "project_file", is_flag=True, help="The schema of the project file "
              "(segrules.yml) instead.")
def schema(test_file, project_file):
    """Print the JSON Schema (draft 2020-12) of the spec format, with the installed plugins'
    sections and destination types (for editors: yaml-language-server, VS Code)."""
    from ..api import spec_sections
    from ..spec import spec_model
    from ..spec.jsonschema import DRAFT, spec_json_schema
    with user_errors():
        registry = load_registry()
    if test_file or project_file:
        from ..project.model import ProjectModel
        from ..testing.model import SpecTestModel
        found = (SpecTestModel if test_file else ProjectModel).model_json_schema(by_alias=True)
        found = {"$schema": DRAFT, **found}
    else:
        found = spec_json_schema(spec_model(spec_sections(registry)), registry.destinations)
    click.echo(json.dumps(found, indent=2))


@click.command("demo-data")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--customers", default=10_000, show_default=True, help="Number of customers.")
@click.option("--seed", default=42, show_default=True, help="Random seed (same seed, same data).")
@click.option("--now", "now", metavar="TIME", default="2026-10-01", show_default=True,
              help="The shop's reference time (UTC): no data after it. Evaluate with --as-of TIME.")
@click.option("--wall-clock", is_flag=True, help="Data up to the current time instead of --now.")
def demo_data(path, customers, seed, now, wall_clock):
    """Write a realistic synthetic shop (customers, orders, events) into a DuckDB file. The same
    shop on every machine and every day, its last data just before --now."""
    from rich.progress import Progress

    from ..demo import demo_now, write_demo_data
    try:
        now = demo_now(now, wall_clock)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--now") from None
    with Progress(console=err, transient=True, disable=not err.is_terminal) as progress:  # no bar in logs
        tasks = {}

        def report(stage: str, done: int, total: int):
            if stage not in tasks:
                tasks[stage] = progress.add_task(stage, total=total)
            progress.update(tasks[stage], completed=done, total=total)
        with user_errors():
            rows = write_demo_data(Path(path), customers=customers, seed=seed, now=now, progress=report)
    for table, n in rows.items():
        out.print(f"{table}: {n:,} rows")
    out.print(f"wrote {path}")


@click.command("plugins")
def plugins():
    """List the loaded plugins and what they register."""
    from rich.table import Table
    with user_errors():
        registry = load_registry()
        registry.commands  # noqa: B018  collected on first use; their owners are listed below
    show = Table(title="plugins")
    for col in ("plugin", "version", "module", "registers"):
        show.add_column(col)
    for info in registry.plugins:
        names = sorted(f"{kind.rstrip('s')}:{name}" for (kind, name), owner in registry.owner.items()
                       if owner == info.name)
        show.add_row(info.name, info.version or "", info.module, ", ".join(names))
    out.print(show)
