"""The ``segrules`` command line: a thin layer over :mod:`segrules.api`.

Exit codes: 0 ok, 1 a check failed, 2 bad input (spec errors, bad options, unreachable database).
"""

from __future__ import annotations

import gc
import json
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click
import sqlglot
from rich.console import Console
from rich.table import Table

from . import __version__, api
from .cli_options import apply_limit, limit_option, lock_timeout_option
from .diagnostics import Diagnostic, Severity, exit_code, render
from .errors import SegrulesError, SpecError
from .formats import FORMATS, format_github, format_json, format_junit

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)


@contextmanager
def user_errors():
    """Show a SegrulesError as diagnostics (file:line:col, quoted line, caret), exit 2."""
    try:
        yield
    except SegrulesError as exc:
        show_diagnostics(exc.render())
        sys.exit(EXIT_BAD_INPUT)


def show_diagnostics(text: str) -> None:
    """Diagnostics go to stderr unwrapped: the caret must stay under its column."""
    click.echo(text, err=True)


def parse_params(values: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for item in values:
        if "=" not in item:
            raise SpecError(f"--param {item!r}: expected NAME=VALUE", code="SR110")
        name, value = item.split("=", 1)
        params[name.strip()] = value
    return params


def split_names(value: str | None, option: str = "--segments") -> list[str] | None:
    """``A,B`` -> ``["A", "B"]``; None when the option is not given; SR112 when it names nothing
    (``--segments ,,,``)."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise SpecError(f"{option} {value!r}: no segment names (give them comma-separated, e.g. "
                        f"{option} vip,churned)", code="SR112")
    return names


def _registry():
    registry = api.default_registry()
    for problem in registry.problems:
        show_diagnostics(render(problem))
    return registry


class SegrulesGroup(click.Group):
    """Adds sub-commands registered by plugins (``register_commands``) when the CLI starts."""

    def _plugins_loaded(self, ctx):
        if not getattr(self, "_loaded", False):
            self._loaded = True
            try:
                registry = api.default_registry()
                commands = registry.commands
            except SegrulesError as exc:
                show_diagnostics(exc.render())
                return
            for name, command in commands.items():
                if name in self.commands:
                    plugin = registry.owner.get(("commands", name), "?")
                    show_diagnostics(render(Diagnostic(
                        "SR604", f"command {name!r} is registered by both segrules (built-in) and {plugin}; "
                        "the plugin's command is not added", severity=Severity.WARNING)))
                    continue
                self.add_command(command, name)

    def list_commands(self, ctx):
        self._plugins_loaded(ctx)
        return super().list_commands(ctx)

    def get_command(self, ctx, name):
        self._plugins_loaded(ctx)
        return super().get_command(ctx, name)


as_of_option = click.option("--as-of", "as_of", metavar="TIME",
                            help="Evaluate as of this date/time (sets `now`; later source rows are ignored).")
param_option = click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                            help="Override a spec parameter; repeatable.")


@click.group(cls=SegrulesGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="segrules")
def main():
    """Declarative customer segmentation: YAML segment specs, compiled to one query, run on
    DuckDB or any Ibis backend."""


def entry() -> None:
    """The ``segrules`` console script.  The objects created by importing segrules, Ibis and
    their dependencies live as long as the process, so they are moved out of the garbage
    collector's view (``gc.freeze``) before the command runs: otherwise every full collection
    walks them again while the plan is built (about 0.06 s of a 50-segment run)."""
    gc.freeze()
    main()


@main.command()
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
    results: dict[str, list] = {}
    with user_errors():
        registry = _registry()
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
            status = {0: "[green]valid[/green]", 1: "[red]check failed[/red]", 2: "[red]invalid[/red]"}[code]
            out.print(f"{path}: {status} ({n_err} error{'s' * (n_err != 1)}, "
                      f"{n_warn} warning{'s' * (n_warn != 1)})")
    sys.exit(max((exit_code(ds, strict) for ds in results.values()), default=EXIT_OK))


@main.command("compile")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--segment", "segments", multiple=True, metavar="NAME", help="Only this segment (repeatable).")
@click.option("--dialect", default="duckdb", show_default=True,
              help="SQL dialect: duckdb, postgres, snowflake, bigquery, trino, spark, ... (any sqlglot dialect).")
@click.option("--db", metavar="URL", help="Read table schemas from this database instead of the schema: block.")
@as_of_option
@param_option
def compile_(spec, segments, dialect, db, as_of, params):
    """Print the SQL of the spec's single query plan."""
    with user_errors():
        loaded = api.load(spec, registry=_registry())
        con = api.connect(db, read_only=True) if db else None
        try:  # the dialect first: a ValueError from compiling the spec is not about the dialect
            sqlglot.Dialect.get_or_raise(dialect)
        except ValueError as exc:  # sqlglot: unknown dialect
            raise SpecError(f"--dialect {dialect}: {exc}", code="SR111") from None
        sql = loaded.to_sql(dialect, con=con, segments=list(segments) or None, as_of=as_of,
                            params=parse_params(params))
    click.echo(sql)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--db", metavar="URL", required=True, help="DuckDB file or Ibis URL (postgres://, ...).")
@as_of_option
@param_option
@click.option("--segments", metavar="A,B", help="Only these segments (comma-separated).")
@click.option("--out", "out_path", metavar="FILE", help="Write the membership to FILE (.parquet or .csv).")
@click.option("--format", "layout", type=click.Choice(["long", "wide"]), default="long", show_default=True,
              help="--out layout: long = one row per (segment, key); wide = one row per entity with a "
              "boolean per segment and the features.")
@click.option("--snapshot", is_flag=True, help="Store the membership in the state store's history (run id, "
              "spec hash, as-of, counts; see `segrules changes`).")
@click.option("--state", "state_url", metavar="URL", help="State store for --snapshot: a DuckDB file (default "
              ".segrules/state.duckdb) or URL#schema.")
@lock_timeout_option()
def run(spec, db, as_of, params, segments, out_path, layout, snapshot, state_url, lock_timeout):
    """Evaluate every segment; print members and share of the universe per segment. With
    --snapshot, one snapshot of a spec runs at a time (see --lock-timeout)."""
    from .run import counts, counts_from_arrow, materialize, to_long
    with user_errors(), ExitStack() as held:
        registry = _registry()
        loaded = api.load(spec, registry=registry)
        sink = None
        if out_path:
            sink, out_path = registry.sink_for(out_path)
            if sink is None:
                suffixes = sorted(s for d in registry.sinks.values() for s in d.suffixes)
                raise SpecError(f"--out {out_path}: no sink writes this kind of file "
                                f"(known: {', '.join(suffixes)})", code="SR803")
        names = split_names(segments)
        if snapshot and names:
            raise SpecError("--snapshot stores every segment of the spec; leave out --segments", code="SR756")
        if snapshot:  # taken before the evaluation: the snapshot must follow the one committed before it
            from .state.lock import parse_timeout, snapshot_lock
            held.enter_context(snapshot_lock(state_url, loaded.name, parse_timeout(lock_timeout)))
        con = api.connect(db, read_only=True)
        as_of_time = loaded.now(as_of)
        wide = loaded.evaluate(con, as_of=as_of_time, params=parse_params(params), segments=names,
                               features=True if names is None else [])
        names = names or loaded.segments
        with err.status(f"Evaluating {len(names)} segments as of {as_of_time:%Y-%m-%d %H:%M:%S}…"):
            if sink is None and not snapshot:
                result = counts(wide, names)
            else:
                table = materialize(wide)
                result = counts_from_arrow(table, names)
            if sink is not None:
                data = to_long(table, loaded.key, names) if layout == "long" else table
                written = sink.write(data, out_path, {})
        show = Table(title=loaded.name, caption=f"as of {as_of_time:%Y-%m-%d %H:%M:%S}")
        show.add_column("segment")
        show.add_column("members", justify="right")
        show.add_column("share", justify="right")
        for row in result:
            show.add_row(row.segment, f"{row.members:,}", f"{row.share:.1%}")
        out.print(show)
        if result:
            out.print(f"universe: {result[0].universe:,} {loaded.model.entity.table}")
        if sink is not None:
            out.print(f"wrote {written.rows:,} rows ({layout}) to {written.target}")
        if snapshot:
            from .history.commands import take_snapshot
            out.print(take_snapshot(loaded, table, as_of_time, state_url), soft_wrap=True)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("segment")
@click.option("--db", metavar="URL", required=True, help="DuckDB file or Ibis URL.")
@limit_option(10, "members shown")
@as_of_option
@param_option
def preview(spec, segment, db, limit, as_of, params):
    """Show sample members of SEGMENT with the values that put them there."""
    from .preview import preview_members
    with user_errors():
        loaded = api.load(spec, registry=_registry())
        con = api.connect(db, read_only=True)
        table = preview_members(loaded, con, segment, limit=apply_limit(limit), as_of=as_of,
                                params=parse_params(params))
    show = Table(title=f"{segment}: {table.num_rows} sample member{'s' * (table.num_rows != 1)}")
    for name in table.column_names:
        show.add_column(name, overflow="fold")
    for row in table.to_pylist():
        show.add_row(*["∅" if v is None else str(v) for v in row.values()])
    out.print(show)


@main.command()
@click.option("--test-file", "test_file", is_flag=True, help="The schema of spec test files (*.test.yaml) instead.")
def schema(test_file):
    """Print the JSON Schema of the spec format (for editors: yaml-language-server, VS Code)."""
    from .spec import spec_model
    from .testing.model import SpecTestModel
    with user_errors():
        registry = _registry()
    model = SpecTestModel if test_file else spec_model(api.spec_sections(registry))
    click.echo(json.dumps(model.model_json_schema(by_alias=True), indent=2))


@main.command("demo-data")
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

    from .demo import demo_now, write_demo_data
    try:
        now = demo_now(now, wall_clock)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--now") from None
    with Progress(console=err, transient=True) as progress:
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


@main.command()
def plugins():
    """List the loaded plugins and what they register."""
    with user_errors():
        registry = _registry()
        registry.commands  # noqa: B018  collected on first use; their owners are listed below
    show = Table(title="plugins")
    for col in ("plugin", "version", "module", "registers"):
        show.add_column(col)
    for info in registry.plugins:
        names = sorted(f"{kind.rstrip('s')}:{name}" for (kind, name), owner in registry.owner.items()
                       if owner == info.name)
        show.add_row(info.name, info.version or "", info.module, ", ".join(names))
    out.print(show)


if __name__ == "__main__":  # pragma: no cover  (python -m segrules.cli: run the importable module,
    from segrules.cli import entry as _entry  # whose commands below import this module's helpers)
    _entry()
else:
    from .history.commands import COMMANDS as HISTORY_COMMANDS  # noqa: E402  (commands in their own modules)
    from .sync.cli import sync_command, sync_log_command  # noqa: E402
    from .testing.command import test_command  # noqa: E402

    for _command in (test_command, *HISTORY_COMMANDS, sync_command, sync_log_command):
        main.add_command(_command)
