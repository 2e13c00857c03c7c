"""``segrules funnel``: the funnel table, the biggest drop-off and the breakdowns in the
terminal (or as JSON), and an offline HTML report with ``--out``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

from segrules.plugin import (atomic_write, db_option, legacy_name, make_console, require_one, spec_options,
                             user_errors)

from ..selection import as_json, compute_all, reports
from .config import SECTION

if TYPE_CHECKING:
    from .report import Breakdown, FunnelReport


def duration_text(seconds: float | None) -> str:
    """A time between steps for people: 45s, 12.5min, 3.2h, 2.1d."""
    if seconds is None:
        return "–"
    for unit, size in (("d", 86_400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def p_text(p: float) -> str:
    return f"{p:.3g}" if p >= 1e-4 else f"{p:.1e}"


def drop_sentence(report: FunnelReport) -> str:
    i = report.biggest_drop
    if i is None:
        why = "every user reached the last step" if report.steps[0].users else "no user reached step 1"
        return f"Biggest drop-off: none ({why})."
    before, after = report.steps[i - 1], report.steps[i]
    return (f"Biggest drop-off: {before.label} → {after.label}: {pct(1 - after.step_conversion)} of "
            f"{before.users:,} users did not go on ({before.users - after.users:,} lost).")


def test_sentences(report: FunnelReport, breakdown: Breakdown) -> list[str]:
    """The chi-square tests of a breakdown: overall conversion, then at the biggest drop-off."""
    first, last = report.steps[0].label, report.steps[-1].label
    tests = [(f"{first} → {last}", breakdown.conversion_test)]
    if report.biggest_drop is not None:
        i = report.biggest_drop
        tests.append((f"{report.steps[i - 1].label} → {report.steps[i].label}", breakdown.drop_test))
    out = []
    for what, test in tests:
        if test is None:
            out.append(f"{what}: no test (one group, or every group alike)")
            continue
        verdict = "differs between groups" if test.p_value < 0.05 else "no significant difference"
        out.append(f"{what}: chi-square {test.statistic:.2f}, dof {test.dof}, p = {p_text(test.p_value)} "
                   f"({verdict})")
    return out


def print_report(report: FunnelReport, console: Console) -> None:
    c = report.config
    window = [f"convert {c.convert}" if c.convert else "no conversion limit"]
    if c.within:
        window.append(f"within {c.within}")
    if c.entry == "first":
        window.append("first entry only")
    table = Table(title=f"Funnel {report.funnel} of {report.spec}",
                  caption=f"{', '.join(window)}; as of {report.as_of:%Y-%m-%d %H:%M:%S}; times: from the "
                  "previous step")
    for name, justify in (("step", "left"), ("users", "right"), ("step conv.", "right"),
                          ("overall", "right"), ("median time", "right"), ("p90 time", "right")):
        table.add_column(name, justify=justify, no_wrap=name == "step")
    for i, s in enumerate(report.steps):
        mark = " ◀" if i == report.biggest_drop else ""
        table.add_row(f"{i + 1}. {s.label}{mark}", f"{s.users:,}", pct(s.step_conversion),
                      pct(s.overall_conversion), duration_text(s.median_seconds), duration_text(s.p90_seconds))
    console.print(table)
    console.print(drop_sentence(report))
    for b in report.breakdowns:
        grid = Table(title=f"By {b.name}")
        grid.add_column(b.name, no_wrap=True)
        for i, s in enumerate(report.steps):
            grid.add_column(f"{i + 1}", justify="right")
        grid.add_column("conversion", justify="right")
        for g in b.groups:
            grid.add_row(g.value, *(f"{n:,}" for n in g.users), pct(g.conversion))
        console.print(grid)
        for sentence in test_sentences(report, b):
            console.print(sentence)


@click.command("funnel")
@spec_options(selects="specs")
@db_option
@click.option("--funnel", "names", multiple=True, metavar="NAME",
              help="Only this funnel (repeatable; default: every funnel of each spec).")
@click.option("--by", "by", multiple=True, metavar="COL",
              help="Break down by this entity column instead of the funnel's breakdown:; repeatable.")
@click.option("--as-of", "as_of", metavar="TIME", help="Compute the funnel as of this date/time (sets `now`; "
              "default: the target's as_of:).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a spec parameter; repeatable.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="Output format (json: one document; a list when there are several funnels).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the HTML report here (self-contained, offline; "
              "one funnel).")
def funnel_command(specs, select, project, target, db, names, by, as_of, params, fmt, out):
    """Each funnel of each spec's funnels: section: users per step, step and overall conversion,
    the biggest drop-off, median and 90th-percentile time between steps, and breakdowns with a
    chi-square test of whether conversion differs between groups. SPECS: files, folders or globs;
    none: the project's specs that have a funnels: section."""
    from segrules.plugin import parse_params

    from .html import render_html
    from .report import compute_report

    specs, legacy = legacy_name("funnel", "--funnel", specs)
    console = make_console()
    with user_errors():
        parsed = parse_params(params)
        chosen = reports("funnel", SECTION, "funnel", lambda config: config.names(), specs, select, project, target,
                         db, as_of, tuple(names) + legacy, unknown="FNL103")
        if out:
            require_one("funnel --out", [r.shown for r in chosen], "funnel", hint="give one spec and --funnel NAME")
        done = compute_all(chosen, compute_report, fmt=fmt, show=print_report, console=console, params=parsed,
                           by=list(by))
        report = done[-1]
        if fmt == "json":
            click.echo(as_json([report.to_dict() for report in done]))
        if out:
            atomic_write(Path(out), lambda tmp: Path(tmp).write_text(render_html(report), encoding="utf-8"))
            if fmt == "text":
                console.print(f"wrote {out}")
