"""``segrules train``, ``segrules clusters`` and ``segrules predict-demo``."""

from __future__ import annotations

import json

import click

import segrules
from segrules.plugin import db_option, legacy_name, make_console, spec_options, user_errors

from .config import Kind
from .selection import chosen_models


MODEL_OPTION = click.option("--model", "names", multiple=True, metavar="NAME",
                            help="Only this model (repeatable; default: every model of each spec).")


@click.command("train")
@spec_options(selects="specs")
@db_option
@MODEL_OPTION
@click.option("--as-of", "as_of", metavar="TIME", help="Now, by which every label window must have ended "
              "(default: the target's as_of:, else the wall clock).")
@click.option("--quiet", is_flag=True, help="Print only the artifact's path and the test metrics.")
def train_command(specs, select, project, target, db, names, as_of, quiet):
    """Train each model of each spec's models: section (--model: only these) on point-in-time frames;
    save a versioned artifact and its model card in the project's models/ folder. SPECS: files,
    folders or globs; none: the project's specs that have a models: section."""
    try:
        from .train import summary, train
    except ImportError as exc:  # scikit-learn is the predict extra
        raise click.ClickException(f"training needs scikit-learn: pip install 'segrules[predict]' ({exc})")
    from .artifacts import shown

    console = make_console()

    def say(line: str) -> None:
        console.print(line, markup=False)

    with user_errors():
        specs, legacy = legacy_name("train", "--model", specs)
        chosen = chosen_models("train", specs, select, project, target, db, as_of, tuple(names) + legacy)
        for c in chosen:
            if len(chosen) > 1:
                say(f"{c.work.path} · {c.name}")
            con = segrules.connect(c.work.db, read_only=True)
            trained = train(c.work.spec, con, c.name, as_of=c.work.as_of, log=(lambda line: None) if quiet else say)
            say(f"saved {shown(trained.path)} (model card {trained.card.name})")
            for line in summary(trained.artifact):
                say(line)


@click.command("clusters")
@spec_options(selects="specs")
@db_option
@MODEL_OPTION
@click.option("--as-of", "as_of", metavar="TIME", help="Profile the clusters as of this date/time (default: the "
              "target's as_of:).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text tables, or JSON (one document; a list when there are several models).")
def clusters_command(specs, select, project, target, db, names, as_of, fmt):
    """Profile each cluster of each clusters model (--model: only these) as of now: size, feature
    means, what distinguishes it. SPECS: files, folders or globs; none: the project's specs that
    have a clusters model."""
    from .clusters import cluster_profiles

    console = make_console()
    with user_errors():
        specs, legacy = legacy_name("clusters", "--model", specs)
        chosen = chosen_models("clusters", specs, select, project, target, db, as_of, tuple(names) + legacy,
                               kind=Kind.clusters)
        reports = []
        for c in chosen:
            with make_console(stderr=True).status(f"profiling {c.name} of {c.work.path} in the database…"):
                report = cluster_profiles(c.work.spec, segrules.connect(c.work.db, read_only=True), c.name,
                                          as_of=c.work.as_of)
            reports.append(report)
            if fmt == "text":
                _print_profiles(report, console)
    if fmt == "json":
        console.print(json.dumps(reports[0] if len(reports) == 1 else reports, indent=2, default=str), markup=False)


def _print_profiles(report: dict, console) -> None:
    lines = [f"{report['spec']} · {report['model']} v{report['version']}: {report['entities']} entities as of "
             f"{report['as_of']}"]
    header = ["cluster", "size", "share", *report["numeric"], *report["categorical"], "distinguished by"]
    rows = [[str(p["cluster"]), f"{p['size']}", f"{p['share']:.1%}",
             *[("–" if p["means"][c] is None else f"{p['means'][c]:.2f}") for c in report["numeric"]],
             *[str(p["top"][c]) for c in report["categorical"]],
             ", ".join(p["distinguished_by"]) or "close to the average"] for p in report["profiles"]]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    for line in lines:
        console.print(line, markup=False)


@click.command("predict-demo")
@click.argument("kind", type=click.Choice(["churn", "trial"]))
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("--seed", type=int, default=None, help="Random seed (default: the docs' data).")
def predict_demo_command(kind, target, seed):
    """Write the generated data of the churn or trial-conversion example (planted signal) to a DuckDB file."""
    from .demo import SEED, write

    counts = write(kind, target, SEED if seed is None else seed)
    click.echo(f"wrote {', '.join(f'{n} {name}' for name, n in counts.items())} to {target}")
