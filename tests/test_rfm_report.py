"""``segrules rfm``: the terminal tables, the offline HTML report (checked in headless Chromium),
the PNG of the grid, and the numbers behind them."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules.demo import write_demo_data
from segrules_rfm.report import compute_report

from chromium import chromium, rendered_dom, screenshot

_chromium = chromium  # tests/test_cohorts_report.py imports it from here

NOW = datetime(2026, 10, 1, 12, 0)
SPEC = "segment_specs/ecommerce.yaml"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("rfm") / "shop.duckdb"
    write_demo_data(path, customers=3000, seed=5, now=NOW)
    return str(path)


def test_rfm_report_numbers_add_up(db):
    spec = segrules.load(SPEC)
    report = compute_report(spec, segrules.connect(db, read_only=True), as_of=NOW)
    values = spec.namespace(segrules.connect(db, read_only=True), "rfm", as_of=NOW).to_pandas()
    assert report.customers == len(values) == 3000
    assert report.labels.customers.sum() == 3000 and abs(report.labels.share.sum() - 1) < 1e-9
    assert abs(report.labels.revenue_share.sum() - 1) < 1e-9
    assert abs(report.revenue - values.monetary.sum()) < 1e-6 * report.revenue
    champions = report.labels.set_index("label").loc["Champions"]
    assert champions.customers == (values.label == "Champions").sum()
    assert abs(champions.mean_monetary - values.monetary[values.label == "Champions"].mean()) < 1e-6
    assert report.grid.customers.sum() == values.r.notna().sum()
    cell = report.grid.set_index(["r", "f"]).loc[(5, 5)]
    assert cell.customers == ((values.r == 5) & (values.f == 5)).sum()
    ranked = report.recommendations()
    assert list(ranked.revenue) == sorted(ranked.revenue, reverse=True) and ranked.campaign.str.len().min() > 0


def test_rfm_command_prints_tables_and_writes_the_report_and_png(db, tmp_path):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["rfm", SPEC, "--db", db, "--as-of", NOW.isoformat(), "--out", str(out)],
                                terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "RFM segments of shop" in result.output and "R × F grid" in result.output
    assert re.search(r"Champions\s+│\s+[\d,]+\s+│\s+[\d.]+%", result.output)
    assert re.search(r"R 5\s+│\s+[\d,]+ / [\d,]+", result.output)
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in html
    for element in ('id="rfm-heatmap"', 'id="rfm-sizes"', 'id="rfm-revenue"', 'id="rfm-segments"',
                    'id="rfm-recommendation"'):
        assert element in html
    png = tmp_path / "report.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_rfm_command_errors_are_diagnostics(db, tmp_path):
    spec = tmp_path / "plain.yaml"
    spec.write_text("version: 1\nname: p\nentity: {table: customers, key: customer_id}\n"
                    "segments:\n  all: {where: true}\n")
    result = CliRunner().invoke(main, ["rfm", str(spec), "--db", db])
    assert result.exit_code == 2 and "SR313" in result.output and "rfm" in result.output
    out = tmp_path / "missing" / "r.html"
    result = CliRunner().invoke(main, ["rfm", SPEC, "--db", db, "--out", str(out)])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_rfm_html_renders_in_headless_chromium(db, tmp_path):
    chromium()
    out = tmp_path / "report.html"
    result = CliRunner().invoke(main, ["rfm", SPEC, "--db", db, "--as-of", NOW.isoformat(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    dom = rendered_dom(out, tmp_path / "profile")
    assert "<h1>RFM report: shop</h1>" in dom
    heatmap = re.search(r'<svg id="rfm-heatmap".*?</svg>', dom, re.S).group(0)
    assert heatmap.count('class="cell"') == 25
    for chart in ("rfm-sizes", "rfm-revenue"):
        svg = re.search(rf'<svg id="{chart}".*?</svg>', dom, re.S).group(0)
        assert svg.count('class="bar"') == 12 and "Champions" in svg
    assert dom.count("<tr>") == 13  # header + 12 labels
    shot = tmp_path / "shot.png"
    png = screenshot(out, tmp_path / "profile", shot)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_rfm_report_escapes_labels_and_takes_campaigns_from_a_file(db, tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(Path(SPEC).read_text().replace(
        "  window: 365d\n", "  window: 365d\n  bins: 2\n  labels:\n    '<b>big</b>': m == 2\n    'small & co': m == 1\n"
    ).split("  # RFM value segments")[0])
    campaigns = tmp_path / "campaigns.yaml"
    campaigns.write_text("'<b>big</b>': {goal: protect, campaign: 'VIP <dinner>'}\n")
    out = tmp_path / "r.html"
    result = CliRunner().invoke(main, ["rfm", str(spec), "--db", db, "--as-of", NOW.isoformat(), "--out", str(out),
                                       "--campaigns", str(campaigns)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<b>big" not in html and "&lt;b&gt;big&lt;/b&gt;" in html and "small &amp; co" in html
    assert "VIP &lt;dinner&gt;" in html and "no suggestion" in html  # small & co has none in the file
    campaigns.write_text("- not a mapping\n")
    result = CliRunner().invoke(main, ["rfm", str(spec), "--db", db, "--campaigns", str(campaigns)])
    assert result.exit_code == 2 and "--campaigns" in result.output
