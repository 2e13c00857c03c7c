"""The self-contained HTML report of ``segrules funnel --out``: inline CSS and SVG, no scripts, no
network (it works offline and as a mail attachment). Every text is escaped."""

from __future__ import annotations

from html import escape

from .command import drop_sentence, duration_text, pct, test_sentences
from .report import Breakdown, FunnelReport

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2933;margin:2rem auto;
max-width:1100px;padding:0 1rem}h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2rem}
.meta{color:#52606d}.drop{background:#fff4e5;border-left:4px solid #d9822b;padding:.6rem 1rem}
table{border-collapse:collapse;width:100%}th,td{padding:.35rem .6rem;border-bottom:1px solid #e4e7eb;
text-align:right}th:first-child,td:first-child{text-align:left}th{background:#f5f7fa}
svg text{font:12px system-ui,sans-serif}.test{color:#52606d}
"""
BLUE, ORANGE = "#16529c", "#d9822b"


def bars_svg(element_id: str, label: str, bars: list[tuple[str, float, str, str]], row: int, left: int,
             span: int) -> str:
    """Horizontal bars ``(label, value, text after the bar, color)``, the longest ``span`` wide."""
    top = max((value for _, value, _, _ in bars), default=0) or 1
    parts = [f'<svg id="{element_id}" xmlns="http://www.w3.org/2000/svg" width="{left + span + 150}" '
             f'height="{row * len(bars) + 8}" role="img" aria-label="{escape(label)}">']
    for i, (name, value, text, color) in enumerate(bars):
        y, width, middle = 4 + i * row, max(1.0, span * value / top), 4 + i * row + row // 2 + 2
        parts.append(f'<text x="{left - 10}" y="{middle}" text-anchor="end">{escape(name)}</text>')
        parts.append(f'<rect class="bar" x="{left}" y="{y + 3}" width="{width:.1f}" height="{row - 8}" '
                     f'fill="{color}"><title>{escape(name)}: {escape(text)}</title></rect>')
        parts.append(f'<text x="{left + width + 8:.1f}" y="{middle}">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def funnel_svg(report: FunnelReport) -> str:
    """One bar per step, as wide as its users; the step after the biggest drop-off in orange."""
    bars = [(f"{i + 1}. {s.label}", s.users, f"{s.users:,} · {pct(s.overall_conversion)}",
             ORANGE if i == report.biggest_drop else BLUE) for i, s in enumerate(report.steps)]
    return bars_svg("funnel-chart", "users per funnel step", bars, row=44, left=230, span=560)


def conversion_svg(index: int, breakdown: Breakdown) -> str:
    """Overall conversion per group of one breakdown."""
    bars = [(g.value, g.conversion, pct(g.conversion), BLUE) for g in breakdown.groups]
    return bars_svg(f"breakdown-{index}", f"conversion by {breakdown.name}", bars, row=26, left=180, span=420)


def _steps_table(report: FunnelReport) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("step", "users", "step conversion", "overall", "median time",
                                              "p90 time"))
    body = "".join(
        f"<tr><td>{i + 1}. {escape(s.label)}</td><td>{s.users:,}</td><td>{pct(s.step_conversion)}</td>"
        f"<td>{pct(s.overall_conversion)}</td><td>{duration_text(s.median_seconds)}</td>"
        f"<td>{duration_text(s.p90_seconds)}</td></tr>" for i, s in enumerate(report.steps))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _breakdown_section(index: int, b: Breakdown, report: FunnelReport) -> str:
    head = "".join([f"<th>{escape(b.name)}</th>", *(f"<th>{i + 1}. {escape(s.label)}</th>"
                                                     for i, s in enumerate(report.steps)), "<th>conversion</th>"])
    body = "".join(f"<tr><td>{escape(g.value)}</td>{''.join(f'<td>{n:,}</td>' for n in g.users)}"
                   f"<td>{pct(g.conversion)}</td></tr>" for g in b.groups)
    tests = test_sentences(report, b)
    return (f"<h2>By {escape(b.name)}</h2>{conversion_svg(index, b)}"
            + "".join(f'<p class="test">{escape(t)}</p>' for t in tests)
            + f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")


def render_html(report: FunnelReport) -> str:
    c = report.config
    meta = [f"convert {c.convert}" if c.convert else "no conversion limit"]
    if c.within:
        meta.append(f"within {c.within}")
    meta.append(f"as of {report.as_of:%Y-%m-%d %H:%M:%S}")
    title = f"Funnel {escape(report.funnel)}: {escape(report.spec)}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{CSS}</style></head><body><h1>{title}</h1>"
            f'<p class="meta">{escape(", ".join(meta))}; times between steps are from the previous step</p>'
            f"{funnel_svg(report)}"
            f'<p class="drop">{escape(drop_sentence(report))}</p>{_steps_table(report)}'
            + "".join(_breakdown_section(i, b, report) for i, b in enumerate(report.breakdowns))
            + "</body></html>\n")
