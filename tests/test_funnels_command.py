"""``segrules funnel`` and the ``funnels:`` section: positioned errors for bad steps, the command's
text, JSON and HTML (rendered in headless Chromium), ``--by``, one query per report, and the
chi-square test against scipy (unequal and tiny groups)."""

from __future__ import annotations

import json
import math
import os
import re

import ibis
import pyarrow as pa
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2_contingency

import segrules
import segrules_cohorts.funnels as funnels_plugin
from segrules.cli import main
from segrules_cohorts.funnels.demo import write_onboarding_data
from segrules_cohorts.funnels.report import compute_report
from segrules_cohorts.funnels.significance import chi_square

from chromium import chromium, rendered_dom, screenshot

HEAD = """version: 1
name: t
entity: {table: users, key: user_id}
sources:
  events: {table: events, key: user_id, time: ts}
  plans: {table: plans, key: user_id}
"""
SCHEMA = """schema:
  users: {user_id: int64, company_size: string}
  events: {user_id: int64, name: string, ts: timestamp}
  plans: {user_id: int64, plan: string}
"""


def _validate(funnel: str, segments: str = "  all: {where: 'true'}\n"):
    registry = segrules.default_registry(plugins=[funnels_plugin], load_entrypoints=False)
    text = HEAD + "funnels:\n  f:\n" + funnel + "segments:\n" + segments + SCHEMA
    try:
        diags = segrules.load_text(text, "t.yaml", registry=registry).validate()
    except segrules.SpecError as exc:  # the section's model rejects it when the spec loads
        diags = exc.diagnostics
    return [(d.code, d.span.line, d.span.column) for d in diags if d.is_error]


def _at(line: str, text: str) -> int:
    """The 1-based column of ``text`` in ``line``."""
    return line.index(text) + 1


def test_funnels_bad_steps_are_positioned_errors():
    line = "    steps: [\"events where name == 'a'\", events where, \"2 events\"]"
    assert _validate(line + "\n") == [("FNL101", 9, _at(line, "events where,")), ("FNL101", 9, _at(line, '"2 e'))]
    line = "    steps: [events, plans where plan == 'pro']"
    assert _validate(line + "\n") == [("FNL102", 9, _at(line, "plans"))]
    line = "    steps: [events, orders where total > 0]"
    assert _validate(line + "\n") == [("SR302", 9, _at(line, "orders"))]
    # the condition's own errors point into the step, at their column
    line = "    steps: [events, events where nmae == 'x']"
    assert _validate(line + "\n") == [("SR301", 9, _at(line, "nmae"))]
    line = "    steps: [events, \"events where name\"]"
    assert _validate(line + "\n") == [("SR415", 9, _at(line, "name\""))]
    lines = "    steps:\n      - events\n      - events where\n          nmae == 'x'"  # a plain multi-line value
    assert _validate(lines + "\n") == [("SR301", 12, 11)]


def test_funnels_section_values_are_checked():
    assert _validate("    steps: [events]\n") == [("SR100", 9, 12)]  # two steps or more
    assert _validate("    steps: [events, events]\n    convert: 14 days\n") == [("SR100", 10, 14)]
    assert _validate("    steps: [events, events]\n    labels: [a]\n") == [("SR100", 10, 13)]
    assert _validate("    steps: [events, events]\n    entry: last\n") == [("SR100", 10, 12)]
    assert _validate("    steps: [events, events]\n    conver: 1d\n") == [("SR105", 10, 5)]
    line = "    breakdown: [company_sise]"
    assert _validate("    steps: [events, events]\n" + line + "\n") == [("SR301", 10, _at(line, "company_sise"))]
    line = "  x: {where: \"funnel_step('g') > 1\"}"
    assert _validate("    steps: [events, events]\n", line + "\n") == [("SR320", 11, _at(line, "'g'"))]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("funnel") / "onboarding.duckdb"
    write_onboarding_data(path, users=800)
    return str(path)


SPEC = "segment_specs/saas_onboarding.yaml"


@pytest.fixture(autouse=True)
def _root(monkeypatch):
    monkeypatch.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    monkeypatch.setenv("COLUMNS", "120")


def test_funnel_command_json_is_the_report(db):
    result = CliRunner().invoke(main, ["funnel", SPEC, "--funnel", "onboarding", "--db", db, "--as-of", "2025-06-01",
                                       "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    users = [s["users"] for s in data["steps"]]
    assert users == sorted(users, reverse=True) and users[0] == 800
    assert data["steps"][3]["overall_conversion"] == pytest.approx(users[3] / users[0])
    assert data["biggest_drop"]["to"] == "Invited Teammate"
    for breakdown in data["breakdowns"]:
        assert sum(g["users"][0] for g in breakdown["groups"]) == users[0]


def test_funnel_command_by_column_and_errors(db):
    ok = CliRunner().invoke(main, ["funnel", SPEC, "--funnel", "onboarding", "--db", db, "--by", "company_size"])
    assert ok.exit_code == 0 and "By company_size" in ok.output and "utm_source" not in ok.output
    unknown = CliRunner().invoke(main, ["funnel", SPEC, "--funnel", "onbording", "--db", db])
    assert unknown.exit_code == 2 and "FNL103" in unknown.output and "onboarding" in unknown.output
    column = CliRunner().invoke(main, ["funnel", SPEC, "--funnel", "onboarding", "--db", db, "--by", "size"])
    assert column.exit_code == 2 and "FNL104" in column.output and "company_size" in column.output


def test_funnel_report_is_one_query(db, monkeypatch):
    """Every number of the report comes from one query: the backend executes one expression."""
    spec = segrules.load(SPEC)
    con = segrules.connect(db, read_only=True)
    spec.check(con)  # the schemas are read once per connection, before
    executed = []
    original = type(con).to_pyarrow

    def counting(self, expr, *args, **kwargs):
        executed.append(str(ibis.to_sql(expr)))
        return original(self, expr, *args, **kwargs)

    monkeypatch.setattr(type(con), "to_pyarrow", counting)
    report = compute_report(spec, con, "onboarding", as_of="2025-06-01")
    assert len(executed) == 1 and len(report.breakdowns) == 2
    assert "PERCENTILE_CONT" in executed[0].upper() or "QUANTILE_CONT" in executed[0].upper()


def test_funnel_html_renders_in_headless_chromium(db, tmp_path):
    chromium()
    out = tmp_path / "funnel.html"
    result = CliRunner().invoke(main, ["funnel", SPEC, "--funnel", "onboarding", "--db", db, "--as-of", "2025-06-01",
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    dom = rendered_dom(out, tmp_path / "profile")
    assert "<h1>Funnel onboarding: saas_onboarding</h1>" in dom
    chart = re.search(r'<svg id="funnel-chart".*?</svg>', dom, re.S).group(0)
    assert chart.count('class="bar"') == 4 and "Invited Teammate" in chart and "#d9822b" in chart
    for i in (0, 1):
        svg = re.search(rf'<svg id="breakdown-{i}".*?</svg>', dom, re.S).group(0)
        assert svg.count('class="bar"') == 4
    assert "Biggest drop-off: Created First Project → Invited Teammate" in dom
    png = screenshot(out, tmp_path / "profile", tmp_path / "shot.png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000


def test_funnel_html_escapes_labels(tmp_path):
    from segrules_cohorts.funnels.config import Funnel
    from segrules_cohorts.funnels.html import render_html
    from segrules_cohorts.funnels.report import Breakdown, FunnelReport, Group, StepRow
    funnel = Funnel(steps=["events", "events"], labels=["<b>x</b>", "y & z"])
    report = FunnelReport("<spec>", "f", __import__("datetime").datetime(2025, 1, 1), funnel,
                          [StepRow("<b>x</b>", 2, None, 1.0, None, None), StepRow("y & z", 1, 0.5, 0.5, 60.0, 60.0)],
                          1, [Breakdown("<i>", [Group("<script>", (2, 1))], None, None)])
    html = render_html(report)
    assert "<b>x</b>" not in html and "<script>" not in html and "&lt;script&gt;" in html


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 3000)), min_size=2, max_size=7))
def test_funnel_chi_square_equals_scipy(groups):
    """Unequal group sizes, tiny groups and zero cells; scipy on the same table (no correction)."""
    table = [[c for c, _ in groups], [n for _, n in groups]]
    got = chi_square(table)
    kept = [g for g in groups if sum(g) > 0]
    if len(kept) < 2 or not any(c for c, _ in kept) or not any(n for _, n in kept):
        assert got is None
        return
    ref = chi2_contingency([[c for c, _ in kept], [n for _, n in kept]], correction=False)
    assert got.dof == ref.dof
    assert math.isclose(got.statistic, ref.statistic, rel_tol=1e-9, abs_tol=1e-12)
    assert abs(got.p_value - ref.pvalue) <= 1e-9


def _tiny(users: dict, events: list[tuple]):
    """A DuckDB with ``users`` (id -> company_size) and ``events`` (user, name, second), and the
    funnel a -> b broken down by company_size."""
    con = ibis.duckdb.connect()
    con.create_table("users", pa.table({"user_id": list(users), "company_size": list(users.values())}))
    con.create_table("events", pa.table({"user_id": [e[0] for e in events], "name": [e[1] for e in events],
                                         "ts": pa.array([e[2] for e in events], pa.timestamp("s"))}))
    con.create_table("plans", pa.table({"user_id": [1], "plan": ["pro"]}))
    registry = segrules.default_registry(plugins=[funnels_plugin], load_entrypoints=False)
    spec = segrules.load_text(HEAD + "funnels:\n  f:\n    steps: [\"events where name == 'a'\", \"events where "
                              "name == 'b'\"]\n    breakdown: [company_size]\nsegments:\n  all: {where: 'true'}\n",
                              "t.yaml", registry=registry)
    return compute_report(spec, con, "f", as_of="2025-01-01")


def test_funnel_breakdown_null_group_and_entity_filter():
    """A null breakdown value is its own group; events of keys that are not entities do not count."""
    report = _tiny({1: "s", 2: None, 3: None}, [(1, "a", 1), (1, "b", 2), (2, "a", 1), (3, "a", 1), (9, "a", 1),
                                                 (9, "b", 2)])
    assert [s.users for s in report.steps] == [3, 1]
    assert {g.value: g.users for g in report.breakdowns[0].groups} == {"s": (1, 1), "(null)": (2, 0)}


def test_funnel_without_losses_has_no_drop_off():
    report = _tiny({1: "s", 2: "m"}, [(1, "a", 1), (1, "b", 2), (2, "a", 1), (2, "b", 2)])
    assert [s.users for s in report.steps] == [2, 2] and report.biggest_drop is None
    assert report.breakdowns[0].conversion_test is None and report.breakdowns[0].drop_test is None
    from segrules_cohorts.funnels.command import drop_sentence
    assert drop_sentence(report) == "Biggest drop-off: none (every user reached the last step)."
