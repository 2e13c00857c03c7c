"""``segrules train``, ``segrules clusters`` and ``segrules predict-demo``."""

from __future__ import annotations

import json

import click

import segrules
from segrules.plugin import SegrulesError


def _fail(exc: SegrulesError) -> None:
    click.echo(exc.render(), err=True)
    raise SystemExit(2) from None


@click.command("train")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("model")
@click.option("--db", metavar="URL", required=True, help="DuckDB file or Ibis URL.")
@click.option("--as-of", "as_of", metavar="TIME", help="Now, by which every label window must have ended "
              "(default: the wall clock).")
@click.option("--quiet", is_flag=True, help="Print only the artifact's path and the test metrics.")
def train_command(spec, model, db, as_of, quiet):
    """Train MODEL of SPEC's models: section on point-in-time frames; save a versioned artifact and its
    model card in the project's models/ folder."""
    try:
        from .train import summary, train
    except ImportError as exc:  # scikit-learn is the predict extra
        raise click.ClickException(f"training needs scikit-learn: pip install 'segrules[predict]' ({exc})")
    try:
        loaded = segrules.load(spec, registry=segrules.default_registry())
        con = segrules.connect(db, read_only=True)
        trained = train(loaded, con, model, as_of=as_of, log=(lambda line: None) if quiet else click.echo)
    except SegrulesError as exc:
        _fail(exc)
    from .artifacts import shown

    click.echo(f"saved {shown(trained.path)} (model card {trained.card.name})")
    for line in summary(trained.artifact):
        click.echo(line)


@click.command("clusters")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("model")
@click.option("--db", metavar="URL", required=True, help="DuckDB file or Ibis URL.")
@click.option("--as-of", "as_of", metavar="TIME", help="Profile the clusters as of this date/time.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def clusters_command(spec, model, db, as_of, fmt):
    """Profile each cluster of a clusters MODEL as of now: size, feature means, what distinguishes it."""
    from .clusters import cluster_profiles

    try:
        loaded = segrules.load(spec, registry=segrules.default_registry())
        report = cluster_profiles(loaded, segrules.connect(db, read_only=True), model, as_of=as_of)
    except SegrulesError as exc:
        _fail(exc)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2, default=str))
        return
    click.echo(f"{report['spec']} · {report['model']} v{report['version']}: {report['entities']} entities as of "
               f"{report['as_of']}")
    header = ["cluster", "size", "share", *report["numeric"], *report["categorical"], "distinguished by"]
    rows = [[str(p["cluster"]), f"{p['size']}", f"{p['share']:.1%}",
             *[("–" if p["means"][c] is None else f"{p['means'][c]:.2f}") for c in report["numeric"]],
             *[str(p["top"][c]) for c in report["categorical"]],
             ", ".join(p["distinguished_by"]) or "close to the average"] for p in report["profiles"]]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    for row in [header, *rows]:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())


@click.command("predict-demo")
@click.argument("kind", type=click.Choice(["churn", "trial"]))
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("--seed", type=int, default=None, help="Random seed (default: the docs' data).")
def predict_demo_command(kind, target, seed):
    """Write the generated data of the churn or trial-conversion example (planted signal) to a DuckDB file."""
    from .demo import SEED, write

    counts = write(kind, target, SEED if seed is None else seed)
    click.echo(f"wrote {', '.join(f'{n} {name}' for name, n in counts.items())} to {target}")
