"""The self-contained HTML report of ``segrules cohort --out``: inline CSS and SVG, no scripts, no
network (it works offline and in mail attachments). Every text is escaped."""

from __future__ import annotations

from html import escape

from .report import CohortReport

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2933;margin:2rem auto;
max-width:1200px;padding:0 1rem}h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem}
.meta{color:#52606d}table{border-collapse:collapse}th,td{padding:.3rem .5rem;text-align:right;
border:1px solid #fff;white-space:nowrap}th{background:#f5f7fa}td.label,th.label{text-align:left}
td.na{background:#f5f7fa;color:#9aa5b1}.count{display:block;font-size:11px;opacity:.8}
svg text{font:12px system-ui,sans-serif}
"""


def _color(share: float) -> str:
    """White to deep blue."""
    f = max(0.0, min(1.0, share))
    r, g, b = (int(255 + (c - 255) * f) for c in (22, 82, 156))
    return f"rgb({r},{g},{b})"


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}%"


def heatmap_table(report: CohortReport) -> str:
    """The matrix as a table whose cells are coloured by retention (relative to the highest cell
    after period 0, so later periods are not washed out by period 0)."""
    shares = [r.share(k) for r in report.rows for k in range(1, report.periods + 1)]
    top = max((s for s in shares if s is not None), default=0) or 1
    head = "".join(f"<th>{k}</th>" for k in range(report.periods + 1))
    out = [f'<table id="cohort-heatmap"><thead><tr><th class="label">cohort</th><th>size</th>{head}</tr></thead><tbody>']
    for row in report.rows:
        cells = []
        for k in range(report.periods + 1):
            share = row.share(k)
            if share is None:
                cells.append('<td class="na" title="not over yet">·</td>')
                continue
            f = min(1.0, share / top)
            ink = "#fff" if f > 0.55 else "#1f2933"
            cells.append(f'<td class="cell" style="background:{_color(f)};color:{ink}" title="{escape(row.label)} '
                         f'period {k}: {row.active[k]:,} of {row.size:,}">{_pct(share)}'
                         f'<span class="count">{row.active[k]:,}</span></td>')
        out.append(f'<tr><td class="label">{escape(row.label)}</td><td>{row.size:,}</td>{"".join(cells)}</tr>')
    avg = "".join(f"<td>{_pct(a)}</td>" for a in report.average)
    out.append(f'<tr><th class="label">average</th><th>{report.entities:,}</th>{avg}</tr></tbody></table>')
    return "".join(out)


def curve_svg(report: CohortReport) -> str:
    """The average retention curve, periods 1..P (period 0 is the start period)."""
    points = [(k, a) for k, a in enumerate(report.average) if a is not None and k > 0]
    width, height, left, bottom, top_pad = 640, 260, 48, 32, 12
    top = max((a for _, a in points), default=0) or 1
    span = max(1, report.periods - 1)

    def xy(k, a):
        return (left + (k - 1) * (width - left - 16) / span, top_pad + (1 - a / top) * (height - bottom - top_pad))

    parts = [f'<svg id="cohort-curve" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="average retention by period">',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 8}" y2="{height - bottom}" stroke="#9aa5b1"/>']
    for k in range(1, report.periods + 1):
        x, _ = xy(k, 0)
        parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" text-anchor="middle">{k}</text>')
    parts.append(f'<text x="{left - 6}" y="{top_pad + 4}" text-anchor="end">{_pct(top)}</text>')
    parts.append(f'<text x="{left - 6}" y="{height - bottom}" text-anchor="end">0%</text>')
    if points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(k, a) for k, a in points))
        parts.append(f'<polyline points="{path}" fill="none" stroke="#16529c" stroke-width="2"/>')
        for k, a in points:
            x, y = xy(k, a)
            parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#16529c">'
                         f'<title>period {k}: {_pct(a)}</title></circle>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: CohortReport) -> str:
    what = "active in period k" if report.retention == "classic" else "active in period k or later"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Cohort {escape(report.name)} of '
            f'{escape(report.spec)}</title><style>{CSS}</style></head><body>'
            f'<h1>Retention of {escape(report.name)}</h1>'
            f'<p class="meta">{escape(report.spec)} · {report.entities:,} entities in {len(report.rows):,} cohorts by '
            f'{escape(report.grain)} · {escape(report.retention)} retention ({what}) · as of '
            f'{report.as_of:%Y-%m-%d %H:%M:%S}</p>'
            f'<h2>Retention matrix</h2>{heatmap_table(report)}'
            f'<h2>Average retention curve</h2><figure>{curve_svg(report)}</figure>'
            f'</body></html>')
