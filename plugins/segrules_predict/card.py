"""The model card: one offline HTML file (no script, no remote asset) beside each artifact, with
what the model predicts, from what, when it was trained, and how it did on the later test time."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """body{font:14px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.2rem}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
th{background:#f3f3f3}code{background:#f6f6f6;padding:0 .2rem}.bar{background:#4a78b5;height:.8rem}
.muted{color:#666}"""


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c if isinstance(c, _Raw) else escape(_fmt(c))}</td>" for c in row)
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


class _Raw(str):
    """Trusted HTML made here (a bar), not escaped again."""


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _bar(value: float | None, scale: float) -> _Raw:
    width = 0 if not value or scale <= 0 else max(0.0, min(100.0, 100 * value / scale))
    return _Raw(f'<div class="bar" style="width:{width:.0f}%"></div>')


def _calibration_svg(bins: list[dict[str, Any]]) -> str:
    """Predicted (x) vs observed (y) per bin, with the diagonal: inline SVG."""
    points = " ".join(f"{20 + 260 * b['predicted']:.1f},{280 - 260 * b['observed']:.1f}" for b in bins)
    dots = "".join(f'<circle cx="{20 + 260 * b["predicted"]:.1f}" cy="{280 - 260 * b["observed"]:.1f}" r="3"/>'
                   for b in bins)
    return ('<svg width="300" height="300" viewBox="0 0 300 300" role="img" aria-label="calibration">'
            '<rect x="20" y="20" width="260" height="260" fill="none" stroke="#ccc"/>'
            '<line x1="20" y1="280" x2="280" y2="20" stroke="#bbb" stroke-dasharray="4"/>'
            f'<polyline points="{points}" fill="none" stroke="#4a78b5"/><g fill="#4a78b5">{dots}</g>'
            '<text x="150" y="298" font-size="11" text-anchor="middle">predicted</text>'
            '<text x="8" y="150" font-size="11" transform="rotate(-90 8 150)" text-anchor="middle">observed</text>'
            '</svg>')


def model_card(a: dict[str, Any]) -> str:
    m = a["metrics"]
    title = f"{a['spec']} · {a['model_name']} v{a['version']}"
    parts = [f"<h1>{escape(title)}</h1>",
             f"<p>{escape(a['kind'])} · {escape(a['algorithm'])} · trained {escape(a['trained_at'])} with "
             f"scikit-learn {escape(a['scikit_learn'])} · spec hash <code>{escape(a['spec_hash'])}</code></p>"]
    if a.get("label"):
        parts.append(f"<h2>Label</h2><p><code>{escape(a['label'])}</code>, evaluated at each training time T on "
                     "the window after T only.</p>")
    if a.get("population"):
        parts.append(f"<p>Population: <code>{escape(a['population'])}</code></p>")
    parts.append("<h2>Features</h2>" + _table(["column", "expression", "kind"],
                                              [[f["name"], f["expression"], f["kind"]] for f in a["features"]]))
    parts.append("<h2>Training</h2>" + _table(["training times", "test time", "training rows", "test rows"], [[
        ", ".join(a["training_times"]), a["test_time"], a["rows"]["train"], a["rows"]["test"]]]))
    parts.append(f"<p class=muted>Parity: the in-database scores equal scikit-learn's on "
                 f"{escape(_fmt(a['parity'].get('rows')))} rows; SQL size {escape(_fmt(a['sql_size']))}.</p>")
    if a["kind"] == "classifier":
        parts.append("<h2>Evaluation</h2>" + _table(["evaluated on", "rows", "AUC-ROC", "positive rate", "Brier",
                                                      "calibration error"], [[
            m["evaluated_on"], m["rows"], m["auc_roc"], m["positive_rate"], m["brier"], m["calibration_error"]]]))
        parts.append("<h3>Tiers</h3>" + _table(["segment", "score above", "selected", "precision", "recall"],
                                               [[t["segment"], t["threshold"], t["selected"], t["precision"],
                                                 t["recall"]] for t in m["tiers"]]))
        parts.append("<h3>Calibration</h3>" + _calibration_svg(m["calibration"]) + _table(
            ["scores", "rows", "mean predicted", "observed rate"],
            [[f"{b['from']}–{b['to']}", b["rows"], b["predicted"], b["observed"]] for b in m["calibration"]]))
    elif a["kind"] == "regressor":
        parts.append("<h2>Evaluation</h2>" + _table(["evaluated on", "rows", "R²", "MAE"],
                                                    [[m["evaluated_on"], m["rows"], m["r2"], m["mae"]]]))
    else:
        parts.append("<h2>Clusters</h2>" + _table(["k", "silhouette", "rows"], [[m["k"], m["silhouette"], m["rows"]]]))
        numeric = [f["name"] for f in a["features"] if f["kind"] == "numeric"]
        categorical = [f["name"] for f in a["features"] if f["kind"] == "categorical"]
        parts.append(_table(["cluster", "size", "share", *numeric, *categorical, "distinguished by"], [
            [p["cluster"], p["size"], p["share"], *[p["means"].get(c) for c in numeric],
             *[p["top"].get(c) for c in categorical], "; ".join(p.get("distinguished_by", []))]
            for p in m["profiles"]]))
    if m.get("importance"):
        scale = max((r["importance"] or 0) for r in m["importance"]) or 1.0
        parts.append("<h2>Feature importance</h2><p class=muted>Permutation importance on the evaluation rows: "
                     "how much the score drops when the feature is shuffled.</p>" + _table(
            ["feature", "importance", "±", ""],
            [[r["feature"], r["importance"], r["std"], _bar(r["importance"], scale)] for r in m["importance"]]))
    return (f"<!doctype html><html lang=en><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{_STYLE}</style><body>{''.join(parts)}</body></html>\n")
