"""``segrules cohort`` and ``segrules experiment``: the retention matrix and an experiment's
comparison in the terminal or as JSON; for cohorts an offline HTML heatmap and a PNG as well."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from segrules.plugin import (atomic_write, db_option, legacy_name, make_console, require_one, spec_options,
                             user_errors)

from .config import COHORTS, EXPERIMENTS
from .selection import as_json, compute_all, reports


def _options(command):
    """The options cohort and experiment share: the specs (files, folders, globs; none: the
    project) as every command takes them, --db, --as-of, --param, --format."""
    for option in reversed([
        spec_options(selects="specs"),
        db_option,
        click.option("--as-of", "as_of", metavar="TIME", help="Compute as of this date/time (sets `now`; "
                     "default: the target's as_of:)."),
        click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                     help="Override a spec parameter; repeatable."),
        click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
                     help="text tables, or JSON (one document; a list when there are several reports)."),
    ]):
        command = option(command)
    return command


def _names(config) -> list[str]:
    return list(config)


def _pct(x) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def _num(x, digits=3) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def _p(x) -> str:
    return "–" if x is None else (f"{x:.2e}" if x < 1e-4 else f"{x:.4f}")


def print_cohort(report, console: Console) -> None:
    what = "active in period k" if report.retention == "classic" else "active in period k or later"
    table = Table(title=f"Retention of {report.name} ({report.spec}): % of each cohort {what}",
                  caption=f"{report.grain} cohorts, as of {report.as_of:%Y-%m-%d %H:%M:%S}; – : period not over")
    table.add_column("cohort", no_wrap=True)
    table.add_column("size", justify="right")
    for k in range(report.periods + 1):
        table.add_column(str(k), justify="right")
    for row in report.rows:
        table.add_row(row.label, f"{row.size:,}", *[_pct(row.share(k)) for k in range(report.periods + 1)])
    table.add_row("average", f"{report.entities:,}", *[_pct(a) for a in report.average], style="bold")
    console.print(table)
    counts = Table(title="Active entities per cohort and period")
    counts.add_column("cohort", no_wrap=True)
    for k in range(report.periods + 1):
        counts.add_column(str(k), justify="right")
    for row in report.rows:
        counts.add_row(row.label, *["–" if c is None else f"{c:,}" for c in row.active])
    console.print(counts)


def write_png(report, target: Path) -> None:
    """The retention matrix as a PNG heatmap, for slide decks."""
    import matplotlib
    matplotlib.use("Agg")
    import numpy as np
    from matplotlib import pyplot as plt

    shares = np.array([[np.nan if r.share(k) is None else r.share(k) for k in range(report.periods + 1)]
                       for r in report.rows], dtype=float).reshape(len(report.rows), report.periods + 1)
    later = shares[:, 1:]
    top = np.nanmax(later) if later.size and not np.all(np.isnan(later)) else 1.0
    fig, ax = plt.subplots(figsize=(0.75 * (report.periods + 1) + 2.5, 0.32 * len(report.rows) + 1.6), dpi=150)
    try:
        ax.imshow(shares, cmap="Blues", vmin=0, vmax=top or 1.0, aspect="auto")
        for i, row in enumerate(report.rows):
            for k in range(report.periods + 1):
                s = shares[i, k]
                if not np.isnan(s):
                    ink = "white" if s / (top or 1.0) > 0.55 else "black"
                    ax.text(k, i, f"{100 * s:.0f}%", ha="center", va="center", color=ink, fontsize=7)
        ax.set_xticks(range(report.periods + 1), [str(k) for k in range(report.periods + 1)])
        ax.set_yticks(range(len(report.rows)), [f"{r.label} ({r.size:,})" for r in report.rows], fontsize=7)
        ax.set_xlabel(f"{report.grain}s since the start {report.grain}")
        ax.set_title(f"{report.spec}: retention of {report.name} ({report.retention})\nas of "
                     f"{report.as_of:%Y-%m-%d}", fontsize=9)
        fig.tight_layout()
        atomic_write(target, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)


@click.command("cohort")
@_options
@click.option("--cohort", "names", multiple=True, metavar="NAME",
              help="Only this cohort (repeatable; default: every cohort of each spec).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the HTML report here (self-contained, offline; "
              "one cohort).")
@click.option("--png", type=click.Path(dir_okay=False),
              help="Write the matrix as PNG here (default with --out: beside it, .png).")
def cohort_command(specs, select, project, target, db, as_of, params, fmt, names, out, png):
    """The retention matrix of each cohort of each spec's cohorts: section: cohort sizes, active
    entities and % per period, the average curve; optionally an HTML heatmap and a PNG. SPECS:
    files, folders or globs; none: the project's specs that have a cohorts: section."""
    from segrules.plugin import parse_params

    from .html import render_html
    from .report import compute_cohort

    specs, legacy = legacy_name("cohort", "--cohort", specs)
    console = make_console()
    with user_errors():
        parsed = parse_params(params)
        chosen = reports("cohort", COHORTS, "cohort", _names, specs, select, project, target, db, as_of,
                         tuple(names) + legacy, unknown="COH104")
        if out or png:
            require_one(f"cohort {'--out' if out else '--png'}", [r.shown for r in chosen], "cohort",
                        hint="give one spec and --cohort NAME")
        done = compute_all(chosen, compute_cohort, fmt=fmt, show=print_cohort, console=console, params=parsed)
        report = done[-1]
        if fmt == "json":
            click.echo(as_json([report.to_json() for report in done]))
        png = png or (str(Path(out).with_suffix(".png")) if out else None)
        if out:
            atomic_write(Path(out), lambda tmp: Path(tmp).write_text(render_html(report), encoding="utf-8"))
            click.echo(f"wrote {out}", err=fmt == "json")
        if png:
            write_png(report, Path(png))
            click.echo(f"wrote {png}", err=fmt == "json")


def print_experiment(report, console: Console) -> None:
    kind = "proportion" if report.proportion else "mean"
    table = Table(title=f"Experiment {report.name} ({report.spec}): metric {kind} per variant",
                  caption=f"since {report.start:%Y-%m-%d %H:%M}, as of {report.as_of:%Y-%m-%d %H:%M:%S}; "
                          f"* the control; {'two-proportion z' if report.proportion else 'Welch t'} test against "
                          "it, two-sided")
    for column in ("variant", "weight", "size", kind, "95% CI", "difference", "lift", "p-value"):
        table.add_column(column, justify="left" if column == "variant" else "right", no_wrap=True)
    fmt = _pct if report.proportion else _num
    for v in report.variants:
        c = v.comparison
        low, high = v.ci
        table.add_row(v.name + (" *" if v.name == report.control else ""), str(v.weight), f"{v.size:,}",
                      fmt(v.metric.mean), f"{fmt(low)} … {fmt(high)}" if low is not None else "–",
                      fmt(c.difference) if c else "", _pct(c.lift) if c else "", _p(c.p_value) if c else "")
    console.print(table)
    if report.pre_period:
        did = Table(title=f"Difference in differences: change from the {report.pre_period} before start")
        for column in ("variant", "pre", "post", "change", "vs control", "95% CI", "p-value"):
            did.add_column(column, justify="left" if column == "variant" else "right", no_wrap=True)
        for v in report.variants:
            d = v.did
            did.add_row(v.name, fmt(v.pre.mean), fmt(v.metric.mean),
                        _num(v.change.mean), _num(d.difference) if d else "",
                        f"{_num(d.ci_low)} … {_num(d.ci_high)}" if d and d.ci_low is not None else "",
                        _p(d.p_value) if d else "")
        console.print(did)
    srm = report.srm
    line = (f"sample ratio: observed {', '.join(f'{g} {n:,}' for g, n in srm.observed.items())}; expected "
            f"{', '.join(f'{g} {e:,.1f}' for g, e in srm.expected.items())}; chi-square {_num(srm.chi2, 2)}, "
            f"p = {_p(srm.p_value)}")
    if srm.mismatch:
        console.print(Panel(f"{line}\nThe groups are not split as configured: the assignment or the data is "
                            "broken, and the comparison above cannot be trusted.",
                            title="WARNING: SAMPLE RATIO MISMATCH", style="bold red"))
    else:
        console.print(line + " (no mismatch)")


def experiment_json(report) -> dict:
    def comparison(c):
        return None if c is None else {"difference": c.difference, "lift": c.lift, "statistic": c.statistic,
                                       "df": c.df, "p_value": c.p_value, "ci": [c.ci_low, c.ci_high]}

    def summary(s):
        return None if s is None else {"n": s.n, "mean": s.mean, "variance": s.variance}

    srm = report.srm
    return {"spec": report.spec, "experiment": report.name, "as_of": report.as_of.isoformat(),
            "start": report.start.isoformat(), "metric": "proportion" if report.proportion else "mean",
            "test": "two-proportion z" if report.proportion else "welch t", "control": report.control,
            "variants": [{"variant": v.name, "weight": v.weight, "size": v.size, "metric": summary(v.metric),
                          "ci": list(v.ci), "vs_control": comparison(v.comparison),
                          "pre": summary(v.pre), "change": summary(v.change),
                          "difference_in_differences": comparison(v.did)} for v in report.variants],
            "sample_ratio": {"observed": srm.observed, "expected": srm.expected, "chi2": srm.chi2, "df": srm.df,
                             "p_value": srm.p_value, "mismatch": srm.mismatch}}


@click.command("experiment")
@_options
@click.option("--experiment", "names", multiple=True, metavar="NAME",
              help="Only this experiment (repeatable; default: every experiment of each spec).")
def experiment_command(specs, select, project, target, db, as_of, params, fmt, names):
    """Each experiment of each spec's experiments: section: size and metric mean (or proportion)
    with 95% CI per variant, lift and p-value against the control, difference in differences with
    a pre_period, and a sample-ratio-mismatch check that warns loudly. SPECS: files, folders or
    globs; none: the project's specs that have an experiments: section."""
    from segrules.plugin import parse_params

    from .experiments import compute_experiment

    specs, legacy = legacy_name("experiment", "--experiment", specs)
    console = make_console()
    with user_errors():
        parsed = parse_params(params)
        chosen = reports("experiment", EXPERIMENTS, "experiment", _names, specs, select, project, target, db,
                         as_of, tuple(names) + legacy, unknown="COH104")
        done = compute_all(chosen, compute_experiment, fmt=fmt, show=print_experiment, console=console,
                           params=parsed)
    if fmt == "json":
        click.echo(as_json([experiment_json(report) for report in done]))
        for report in done:
            if report.srm.mismatch:
                click.echo(f"WARNING: sample ratio mismatch in {report.name} (p = {_p(report.srm.p_value)})",
                           err=True)


@click.command("cohort-demo")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--seed", type=int, default=None, help="Random seed (default: the documented one).")
def cohort_demo_command(path, seed):
    """Write the generated data of the cohorts plugin's example specs (segment_specs/cohorts_*.yaml)
    into the DuckDB file PATH: sign-ups and purchases, logins, and an experiment, each with a
    planted effect, for now = 2025-04-28."""
    from .demo import SEED, write_growth_demo

    counts = write_growth_demo(path, seed=SEED if seed is None else seed)
    click.echo(f"wrote {path}: " + ", ".join(f"{name} {rows:,}" for name, rows in counts.items()))
