"""``segrules rfm``: the RFM segment table and R x F grid in the terminal, an offline HTML report
and a PNG of the grid. Files are written beside their target and renamed into place, so a failed
run leaves earlier reports intact (:func:`segrules.plugin.atomic_write`)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.table import Table

import segrules
from segrules.plugin import atomic_write, command_specs, db_option, make_console, require_one, spec_options, user_errors

if TYPE_CHECKING:  # the report needs pandas: imported when `segrules rfm` runs, not at start-up
    from .report import RfmReport


def write_png(report: RfmReport, target: Path) -> None:
    """The R x F grid as a PNG heatmap (count and mean monetary per cell), for slide decks."""
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    from .report import grid_matrix
    counts, money = grid_matrix(report, "customers"), grid_matrix(report, "mean_monetary")
    n = report.bins
    fig, ax = plt.subplots(figsize=(1.3 * n + 1.5, 1.1 * n + 1.2), dpi=150)
    try:
        ax.imshow(counts, cmap="Blues", vmin=0)
        top = max((c for c in counts.flat if not math.isnan(c)), default=1) or 1
        for i in range(n):
            for j in range(n):
                c, mm = counts[i, j], money[i, j]
                text = "0" if math.isnan(c) else f"{int(c):,}\nø {mm:,.0f}"
                ink = "white" if not math.isnan(c) and c / top > 0.55 else "black"
                ax.text(j, i, text, ha="center", va="center", color=ink, fontsize=8)
        ax.set_xticks(range(n), [f"F {j}" for j in range(1, n + 1)])
        ax.set_yticks(range(n), [f"R {r}" for r in range(n, 0, -1)])
        ax.set_title(f"{report.spec}: customers and mean monetary per R x F cell\nas of {report.as_of:%Y-%m-%d}",
                     fontsize=9)
        fig.tight_layout()
        atomic_write(target, lambda tmp: fig.savefig(tmp, format="png"))
    finally:
        plt.close(fig)


def print_report(report: RfmReport, console: Console) -> None:
    table = Table(title=f"RFM segments of {report.spec}", caption=f"as of {report.as_of:%Y-%m-%d %H:%M:%S}; revenue: share of "
                  "revenue; recency, frequency, monetary: means (recency in days, buyers only)")
    table.add_column("label", no_wrap=True)
    for name in ("customers", "share", "revenue", "recency", "frequency", "monetary"):
        table.add_column(name, justify="right")
    for row in report.labels.itertuples():
        recency = "–" if math.isnan(row.mean_recency_days) else f"{row.mean_recency_days:,.0f}"
        table.add_row(row.label, f"{row.customers:,}", f"{100 * row.share:.1f}%",
                      f"{100 * row.revenue_share:.1f}%", recency, f"{row.mean_frequency:,.1f}",
                      f"{row.mean_monetary:,.2f}")
    console.print(table)
    grid = Table(title="R × F grid: customers / mean monetary")
    grid.add_column("")
    for f in range(1, report.bins + 1):
        grid.add_column(f"F {f}", justify="right")
    from .report import grid_matrix
    counts, money = grid_matrix(report, "customers"), grid_matrix(report, "mean_monetary")
    for i in range(report.bins):
        cells = ["0" if math.isnan(c) else f"{int(c):,} / {m:,.0f}" for c, m in zip(counts[i], money[i])]
        grid.add_row(f"R {report.bins - i}", *cells)
    console.print(grid)


def has_rfm(spec) -> str | None:
    """Why ``segrules rfm`` skips ``spec`` (it has no rfm: section), or None."""
    return None if spec.section("rfm") is not None else "no rfm: section"


@click.command("rfm")
@spec_options(selects="specs")
@db_option
@click.option("--as-of", "as_of", metavar="TIME", help="Compute RFM as of this date/time (sets `now`; default: "
              "the target's as_of:).")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Override a spec parameter; repeatable.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the HTML report here (self-contained, offline; "
              "one spec).")
@click.option("--png", type=click.Path(dir_okay=False),
              help="Write the R x F grid as PNG here (default with --out: beside it, .png).")
@click.option("--campaigns", type=click.Path(dir_okay=False),
              help="YAML of campaign suggestions per label (default: the plugin's campaigns.yaml).")
def rfm_command(specs, select, project, target, db, as_of, params, out, png, campaigns):
    """RFM segments of each spec's rfm: section: the segment table and the R x F grid, optionally
    an HTML report with charts and a recommendation, and a PNG of the grid. SPECS: files, folders
    or globs; none: the project's specs that have an rfm: section."""
    from .html import render_html
    from .report import compute_report, load_campaigns
    from segrules.plugin import parse_params

    console = make_console()
    with user_errors():
        parsed = parse_params(params)
        suggestions = load_campaigns(campaigns) if campaigns else None
        work = command_specs("rfm", specs, select, project, target, db, as_of, needs=has_rfm)
        if out or png:
            require_one(f"rfm {'--out' if out else '--png'}", [w.path for w in work])
        for w in work:
            with make_console(stderr=True).status(f"computing RFM of {w.path} in the database…"):
                report = compute_report(w.spec, segrules.connect(w.db, read_only=True), as_of=w.as_of,
                                        params=parsed, campaigns=suggestions)
            print_report(report, console)
        png = png or (str(Path(out).with_suffix(".png")) if out else None)
        if out:
            atomic_write(Path(out), lambda tmp: Path(tmp).write_text(render_html(report), encoding="utf-8"))
            console.print(f"wrote {out}")
        if png:
            write_png(report, Path(png))
            console.print(f"wrote {png}")
