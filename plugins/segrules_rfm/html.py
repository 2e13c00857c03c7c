"""The self-contained HTML report of ``segrules rfm --out``: inline CSS and SVG, no scripts, no
network (it works offline and in mail attachments). Every text is escaped."""

from __future__ import annotations

import math
from html import escape

from .report import RfmReport, grid_matrix

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2933;margin:2rem auto;
max-width:1100px;padding:0 1rem}h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem}
.meta{color:#52606d}.charts{display:flex;flex-wrap:wrap;gap:2rem}figure{margin:0}figcaption{font-weight:600;
margin-bottom:.4rem}table{border-collapse:collapse;width:100%}th,td{padding:.35rem .6rem;border-bottom:1px
solid #e4e7eb;text-align:right}th:first-child,td:first-child{text-align:left}th{background:#f5f7fa}
svg text{font:12px system-ui,sans-serif}.goal{font-variant:small-caps;color:#52606d}
section.recommendation{page-break-before:always;break-before:page}
"""


def _money(x: float) -> str:
    return f"{x:,.0f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _num(x, digits=1) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def _color(fraction: float) -> str:
    """White to deep blue."""
    f = 0.0 if math.isnan(fraction) else max(0.0, min(1.0, fraction))
    r, g, b = (int(255 + (c - 255) * f) for c in (22, 82, 156))
    return f"rgb({r},{g},{b})"


def heatmap_svg(report: RfmReport) -> str:
    counts, money = grid_matrix(report, "customers"), grid_matrix(report, "mean_monetary")
    top = max((c for c in counts.flat if not math.isnan(c)), default=0) or 1
    cell, left, head, n = 96, 56, 28, report.bins
    width, height = left + n * cell + 8, head + n * cell + 40
    parts = [f'<svg id="rfm-heatmap" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="R by F grid: customers and mean monetary per cell">']
    for i in range(n):
        r = n - i
        y = head + i * cell
        parts.append(f'<text x="{left - 10}" y="{y + cell / 2 + 4}" text-anchor="end">R {r}</text>')
        for j in range(n):
            count, mean = counts[i, j], money[i, j]
            fill = _color(0 if math.isnan(count) else count / top)
            ink = "#fff" if not math.isnan(count) and count / top > 0.55 else "#1f2933"
            x = left + j * cell
            parts.append(f'<rect class="cell" x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                         f'fill="{fill}"><title>R {r} F {j + 1}: {0 if math.isnan(count) else int(count):,} '
                         f'customers</title></rect>')
            label = "0" if math.isnan(count) else f"{int(count):,}"
            parts.append(f'<text x="{x + cell / 2}" y="{y + cell / 2 - 2}" text-anchor="middle" fill="{ink}" '
                         f'font-weight="600">{label}</text>')
            parts.append(f'<text x="{x + cell / 2}" y="{y + cell / 2 + 16}" text-anchor="middle" fill="{ink}">'
                         f'ø {_num(mean, 0)}</text>')
    for j in range(n):
        parts.append(f'<text x="{left + j * cell + cell / 2}" y="{head - 10}" text-anchor="middle">F {j + 1}</text>')
    parts.append(f'<text x="{left}" y="{height - 12}">cell: customers, ø mean monetary; darker = more customers'
                 '</text></svg>')
    return "".join(parts)


def bars_svg(element_id: str, items: list[tuple[str, float, str]], color: str) -> str:
    """Horizontal bars: (label, value 0..1 of the longest bar, text shown after the bar)."""
    row, left, span = 24, 150, 300
    height = row * len(items) + 8
    top = max((v for _, v, _ in items), default=0) or 1
    parts = [f'<svg id="{element_id}" xmlns="http://www.w3.org/2000/svg" width="{left + span + 110}" '
             f'height="{height}" role="img">']
    for i, (label, value, text) in enumerate(items):
        y = 4 + i * row
        w = max(1.0, span * value / top) if value > 0 else 0
        parts.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
                     f'<rect class="bar" x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{color}">'
                     f'<title>{escape(label)}: {escape(text)}</title></rect>'
                     f'<text x="{left + w + 6:.1f}" y="{y + 15}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _table(report: RfmReport) -> str:
    head = ("<tr><th>label</th><th>customers</th><th>share</th><th>revenue share</th>"
            "<th>mean recency (days)</th><th>mean frequency</th><th>mean monetary</th></tr>")
    rows = "".join(
        f"<tr><td title=\"{escape(report.descriptions.get(row.label, ''))}\">{escape(row.label)}</td>"
        f"<td>{row.customers:,}</td><td>{_pct(row.share)}</td><td>{_pct(row.revenue_share)}</td>"
        f"<td>{_num(row.mean_recency_days, 0)}</td><td>{_num(row.mean_frequency)}</td>"
        f"<td>{_num(row.mean_monetary, 2)}</td></tr>"
        for row in report.labels.itertuples())
    return f'<table id="rfm-segments">{head}{rows}</table>'


def _recommendations(report: RfmReport) -> str:
    items = "".join(
        f"<li><strong>{escape(row.label)}</strong> — {_money(row.revenue)} at stake "
        f"({_pct(row.revenue_share)} of revenue, {row.customers:,} customers). "
        f"<span class=\"goal\">{escape(row.goal)}</span>: {escape(row.campaign) or 'no suggestion'}</li>"
        for row in report.recommendations().itertuples())
    return ('<section class="recommendation" id="rfm-recommendation"><h2>Recommendation</h2>'
            "<p>Segments ranked by revenue at stake: what their customers spent in the RFM window, "
            "the revenue a campaign protects, grows or wins back.</p>"
            f"<ol>{items}</ol></section>")


def render_html(report: RfmReport) -> str:
    labels = report.labels
    sizes = [(r.label, float(r.customers), f"{r.customers:,} ({_pct(r.share)})") for r in labels.itertuples()]
    revenue = [(r.label, float(r.revenue_share), _pct(r.revenue_share)) for r in labels.itertuples()]
    title = f"RFM report: {report.spec}"
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><style>{CSS}</style></head><body>'
        f"<h1>{escape(title)}</h1><p class=\"meta\">as of {report.as_of:%Y-%m-%d %H:%M:%S} · "
        f"{report.customers:,} customers · revenue {_money(report.revenue)} · scores 1..{report.bins}</p>"
        f"<h2>R × F grid</h2><figure>{heatmap_svg(report)}</figure>"
        '<div class="charts">'
        f'<figure><figcaption>Segment sizes</figcaption>{bars_svg("rfm-sizes", sizes, "#3e7cb1")}</figure>'
        f'<figure><figcaption>Revenue share</figcaption>{bars_svg("rfm-revenue", revenue, "#e07a2f")}</figure>'
        "</div>"
        f"<h2>Segments</h2>{_table(report)}{_recommendations(report)}</body></html>"
    )
