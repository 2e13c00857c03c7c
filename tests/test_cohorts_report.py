"""``segrules cohort`` and ``segrules experiment``: text, JSON, the offline HTML report (checked in
headless Chromium), the PNG, the loud sample-ratio warning, and errors as diagnostics."""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules_cohorts.demo import write_growth_demo
from segrules_cohorts.report import compute_cohort

from test_rfm_report import _chromium

ACQ = "segment_specs/cohorts_acquisition.yaml"
EXP = "segment_specs/cohorts_experiment.yaml"
AS_OF = "2025-04-28"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("growth") / "growth.duckdb"
    write_growth_demo(path)
    return str(path)


def run(*args):
    return CliRunner().invoke(main, list(args), env={"COLUMNS": "120"})


def test_cohort_command_json_is_the_report(db):
    result = run("cohort", ACQ, "--cohort", "acquisition_week", "--db", db, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    report = compute_cohort(segrules.load(ACQ), segrules.connect(db, read_only=True), "acquisition_week",
                            as_of=AS_OF)
    assert data == json.loads(json.dumps(report.to_json()))
    assert sum(c["size"] for c in data["cohorts"]) == 10_000
    assert [c["cohort"] for c in data["cohorts"]][:2] == ["2025-W02", "2025-W03"]
    last = data["cohorts"][-1]
    assert last["active"][0] is not None and last["active"][-1] is None  # recent cohorts: later periods not over


def test_cohort_command_writes_html_and_png(db, tmp_path):
    out = tmp_path / "retention.html"
    result = run("cohort", ACQ, "--cohort", "acquisition_week", "--db", db, "--as-of", AS_OF, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output and f"wrote {out.with_suffix('.png')}" in result.output
    html = out.read_text(encoding="utf-8")
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html
    assert "<script" not in html
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cohort_html_renders_in_headless_chromium(db, tmp_path):
    chromium = _chromium()
    out = tmp_path / "retention.html"
    assert run("cohort", ACQ, "--cohort", "acquisition_week", "--db", db, "--as-of", AS_OF, "--out", str(out)).exit_code == 0
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([chromium, *flags, "--dump-dom", out.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert "<h1>Retention of acquisition_week</h1>" in dom
    table = re.search(r'<table id="cohort-heatmap".*?</table>', dom, re.S).group(0)
    assert table.count("<tr>") == 1 + 14 + 1  # header, 14 weekly cohorts, average
    filled, waiting = table.count('class="cell"'), table.count('class="na"')
    # the triangle of weeks not over as of Monday 2025-04-28 00:00: W10 misses period 8, ..., W15 periods 3-8
    assert filled + waiting == 14 * 9 and waiting == sum(range(1, 7))
    curve = re.search(r'<svg id="cohort-curve".*?</svg>', dom, re.S).group(0)
    assert curve.count('class="point"') == 8
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, *flags, f"--screenshot={shot}", "--window-size=1200,1200", out.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_experiment_command_json(db):
    result = run("experiment", EXP, "--experiment", "template_feature", "--db", db, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    by = {v["variant"]: v for v in data["variants"]}
    assert data["control"] == "control" and data["test"] == "welch t"
    assert by["treatment"]["vs_control"]["p_value"] < 1e-6
    assert 0.5 < by["treatment"]["difference_in_differences"]["difference"] < 0.8  # planted: +0.64 weeks
    assert not data["sample_ratio"]["mismatch"]


def test_experiment_command_warns_loudly_on_a_sample_ratio_mismatch(db, tmp_path):
    text = open(EXP, encoding="utf-8").read().replace(
        "population: segment('active_users')", "population: bucket(account_id, 'template-2025', 100) >= 15")
    spec = tmp_path / "broken.yaml"
    spec.write_text(text, encoding="utf-8")
    result = run("experiment", str(spec), "--experiment", "template_feature", "--db", db, "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert "WARNING: SAMPLE RATIO MISMATCH" in result.output
    result = run("experiment", str(spec), "--experiment", "template_feature", "--db", db, "--as-of", AS_OF,
                 "--format", "json")
    assert json.loads(result.stdout)["sample_ratio"]["mismatch"]
    assert "sample ratio mismatch" in result.stderr


@pytest.mark.parametrize("command, name", [("cohort", "acquisition_wek"), ("experiment", "nope")])
def test_cohort_commands_unknown_name_is_a_diagnostic(db, command, name):
    spec = ACQ if command == "cohort" else EXP
    result = run(command, spec, f"--{command}", name, "--db", db, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "COH104" in result.output and "Traceback" not in result.output
