"""The plugin commands (rfm, cohort, funnel, experiment, mece, audit) print and select as the
built-in commands do: off a terminal their tables are as wide as their contents (no cell cut or
wrapped, whatever ``$COLUMNS`` says, no colour), and they take spec files, folders or nothing
(the project), ``--select``, ``--project``, ``--target``, run on every selected spec that has
their section and say which they skipped and why.

One project in a temporary folder, specs with long segment, label, step, variant and entry names
on the three demo data sets (shop, growth, onboarding), and a spec whose target has no database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from segrules.cli import main
from segrules.demo import write_demo_data
from segrules_cohorts.demo import write_growth_demo
from segrules_cohorts.funnels.demo import write_onboarding_data

ROOT = Path(__file__).resolve().parent.parent
SHOP_NOW = datetime(2026, 10, 1)

# long names, each longer than 80 columns would leave a cell
LABEL_RECENT = "Recent buyers who came back within the last months and are still buying from us"
LABEL_OLD = "Older buyers who have not come back to the shop for a long time and may be lost"
SEGMENT = "customers_who_placed_their_first_order_and_signed_up_within_the_last_thirty_days"
OTHER = "customers_who_ordered_within_the_year_but_not_within_the_last_ninety_days_anymore"
COHORT = "weekly_acquisition_cohorts_of_shoppers_by_the_week_of_their_very_first_purchase"
VARIANT = "treatment_accounts_that_saw_the_new_project_template_feature_in_the_onboarding"
STEP = "Created the first project from a template in the onboarding wizard of the app"

SPECS = {
    "rfm_long.yaml": f"""\
version: 1
name: rfm_long
entity: {{table: customers, key: customer_id, time: signup_at}}
sources:
  orders: {{table: orders, key: customer_id, time: ordered_at}}
rfm:
  source: orders
  amount: amount
  labels:
    "{LABEL_RECENT}": r >= 3
    "{LABEL_OLD}": r <= 2
segments:
  recent_rfm_buyers:
    where: rfm.r >= 3
""",
    "lifecycle_long.yaml": (ROOT / "segment_specs" / "lifecycle.yaml").read_text(encoding="utf-8")
    .replace("name: lifecycle\n", "name: lifecycle_long\n")
    .replace("new_customers", SEGMENT).replace("at_risk", OTHER),
    "cohorts_long.yaml": (ROOT / "segment_specs" / "cohorts_acquisition.yaml").read_text(encoding="utf-8")
    .replace("name: acquisition\n", "name: acquisition_long\n").replace("acquisition_week", COHORT),
    "experiment_long.yaml": (ROOT / "segment_specs" / "cohorts_experiment.yaml").read_text(encoding="utf-8")
    .replace("name: templates\n", "name: templates_long\n").replace("treatment", VARIANT),
    "funnel_long.yaml": (ROOT / "segment_specs" / "saas_onboarding.yaml").read_text(encoding="utf-8")
    .replace("name: saas_onboarding\n", "name: onboarding_long\n").replace("Created First Project", STEP),
    # a spec no plugin command reports on, and one whose target has no database
    "plain.yaml": """\
version: 1
name: plain
entity: {table: customers, key: customer_id, time: signup_at}
segments:
  everyone: {where: "true"}
""",
}
OFFLINE = (ROOT / "segment_specs" / "lifecycle.yaml").read_text(encoding="utf-8").replace(
    "name: lifecycle\n", "name: lifecycle_offline\n")

PROJECT = """\
version: 1
specs:
  - specs
  - {path: specs/cohorts_long.yaml, target: growth}
  - {path: specs/experiment_long.yaml, target: growth}
  - {path: specs/funnel_long.yaml, target: onboarding}
  - {path: offline/lifecycle_offline.yaml, target: offline}
target: shop
targets:
  shop: {db: shop.duckdb, as_of: 2026-10-01}
  growth: {db: growth.duckdb, as_of: 2025-04-28}
  onboarding: {db: onboarding.duckdb, as_of: 2025-06-01}
  offline: {}
"""

# command -> (the section it needs, the specs it reports on, the long names its tables show)
COMMANDS = {
    "rfm": ("rfm", ["specs/rfm_long.yaml"], [LABEL_RECENT, LABEL_OLD]),
    "cohort": ("cohorts", ["specs/cohorts_long.yaml"], [COHORT]),
    "experiment": ("experiments", ["specs/experiment_long.yaml"], [VARIANT]),
    "funnel": ("funnels", ["specs/funnel_long.yaml"], [STEP]),
    "mece": ("taxonomies", ["specs/lifecycle_long.yaml"], [SEGMENT, OTHER]),
    "audit": (None, [f"specs/{name}" for name in SPECS], [SEGMENT, OTHER]),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plugin_commands")
    write_demo_data(root / "shop.duckdb", customers=800, seed=7, now=SHOP_NOW)
    write_growth_demo(root / "growth.duckdb")
    write_onboarding_data(root / "onboarding.duckdb", users=800)
    (root / "specs").mkdir()
    for name, text in SPECS.items():
        (root / "specs" / name).write_text(text, encoding="utf-8")
    (root / "offline").mkdir()
    (root / "offline" / "lifecycle_offline.yaml").write_text(OFFLINE, encoding="utf-8")
    (root / "segrules.yml").write_text(PROJECT, encoding="utf-8")
    return root


@pytest.fixture()
def invoke(project, monkeypatch):
    monkeypatch.chdir(project)

    def run(*args):
        return CliRunner().invoke(main, list(args))
    return run


def _segrules(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """The command line as a CI job runs it: standard output a pipe, a narrow ``$COLUMNS``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEGRULES_", "FORCE_COLOR", "NO_COLOR"))}
    env.update(COLUMNS="60", TERM="xterm-256color")
    return subprocess.run([sys.executable, "-m", "segrules.cli", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=600)


def _tables(text: str) -> list[list[str]]:
    """The box-drawn tables of ``text``, each as its lines (top border to bottom border)."""
    found, current = [], None
    for line in text.splitlines():
        if line.startswith(("┏", "┌")):
            current = [line]
        elif current is not None:
            current.append(line)
            if line.startswith(("└", "┗")):
                found.append(current)
                current = None
    return found


@pytest.mark.parametrize("command", list(COMMANDS))
def test_plugin_commands_tables_are_never_cut_off_a_terminal(project, command):
    _, _, names = COMMANDS[command]
    done = _segrules([command], project)
    assert done.returncode in (0, 1), done.stderr  # audit and mece: 1 for a finding, a violated property
    out = done.stdout
    assert not re.search(r"…\s*[│┃]", out), out  # no cell cut (Rich ends a cut cell with …)
    assert "\x1b[" not in out  # no colour: not a terminal
    tables = _tables(out)
    assert tables, out
    for table in tables:  # no cell folded over two lines: every line of a table is as wide as its border
        assert len({len(line) for line in table}) == 1, "\n".join(table)
    assert max(len(line) for t in tables for line in t) > 80  # wider than the 60 columns $COLUMNS says
    for name in names:  # each long name whole, on one line
        assert any(name in line for line in out.splitlines()), (name, out)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_plugin_commands_run_on_each_project_spec_with_their_section(invoke, command):
    section, reported, _ = COMMANDS[command]
    result = invoke(command, "--format", "json") if command != "rfm" else invoke(command)
    assert result.exit_code in (0, 1), result.output
    every = [f"specs/{name}" for name in SPECS]
    skipped = {line.split(": skipped, ")[0]: line.split(": skipped, ")[1]
               for line in result.stderr.splitlines() if ": skipped, " in line}
    expected = {path: f"no {section}: section" for path in every if path not in reported}
    # a spec without the section is skipped for that; one with it (taxonomies:), for its database
    no_db = "target 'offline' has no database"
    expected["offline/lifecycle_offline.yaml"] = no_db if section in ("taxonomies", None) else f"no {section}: section"
    if section is None:  # audit works on every spec with a database
        expected = {"offline/lifecycle_offline.yaml": no_db}
    assert skipped == expected
    if command != "rfm":
        data = json.loads(result.stdout)
        documents = data if isinstance(data, list) else [data]
        assert len(documents) == len(reported)


def test_plugin_commands_spec_folder_and_select(invoke):
    """A folder selects its specs, ``--select`` the specs of the segments it selects; the
    project's targets still give each spec its database."""
    result = invoke("experiment", "specs", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["spec"] == "templates_long"
    result = invoke("mece", "--select", f"{SEGMENT}", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["spec"].endswith("lifecycle_long.yaml")
    # selected specs without the section: nothing to do, SR164 (exit 2), each skip said
    result = invoke("rfm", "--select", "spec:plain")
    assert result.exit_code == 2
    assert "specs/plain.yaml: skipped, no rfm: section" in result.stderr and "SR164" in result.stderr


def test_plugin_commands_target_option_picks_the_database(invoke, project):
    """``--target`` overrides the project's target of the spec: the growth data has no orders."""
    result = invoke("rfm", "specs/rfm_long.yaml", "--target", "growth")
    assert result.exit_code == 2 and "orders" in result.stderr and "Traceback" not in result.output
    result = invoke("rfm", "specs/rfm_long.yaml", "--target", "nowhere")
    assert result.exit_code == 2 and "SR161" in result.stderr
    result = invoke("rfm", "specs/rfm_long.yaml", "--db", str(project / "shop.duckdb"), "--as-of", "2026-10-01")
    assert result.exit_code == 0 and LABEL_RECENT in result.stdout


def test_plugin_commands_spec_named_alone_without_its_section_is_an_error(invoke):
    for command, code in (("cohort", "SR313"), ("experiment", "SR313"), ("funnel", "SR313"), ("mece", "SR100")):
        result = invoke(command, "specs/plain.yaml")
        assert result.exit_code == 2, (command, result.output)
        assert code in result.stderr and "Traceback" not in result.output
    result = invoke("rfm", "offline/lifecycle_offline.yaml")  # named alone: no database is an error
    assert result.exit_code == 2 and "SR170" in result.stderr


def test_plugin_commands_entry_name_options(invoke):
    ok = invoke("cohort", "--cohort", COHORT, "--format", "json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["cohort"] == COHORT
    unknown = invoke("cohort", "--cohort", "nope")
    assert unknown.exit_code == 2 and "COH104" in unknown.stderr
    assert "specs/experiment_long.yaml: skipped, no cohorts: section" in unknown.stderr
    assert "no selected spec has the cohort 'nope' in its cohorts: section" in unknown.stderr
    assert f"hint: cohorts: {COHORT}" in unknown.stderr
    unknown = invoke("funnel", "--funnel", "nope")
    assert unknown.exit_code == 2 and "FNL103" in unknown.stderr


def test_plugin_commands_old_name_argument_still_works_with_a_warning(invoke):
    """``segrules cohort SPEC NAME``, the form before 0.2: accepted for one release, with a warning."""
    for command, spec, name in (("cohort", "specs/cohorts_long.yaml", COHORT),
                                ("funnel", "specs/funnel_long.yaml", "onboarding"),
                                ("experiment", "specs/experiment_long.yaml", "template_feature")):
        result = invoke(command, spec, name, "--format", "json")
        assert result.exit_code == 0, result.output
        assert re.search(rf"warning: `segrules {command} SPEC NAME` is deprecated .* use `segrules {command} SPEC "
                         rf"--{command} NAME`", result.stderr)
        json.loads(result.stdout)


def test_plugin_commands_out_writes_one_report(invoke, project, tmp_path):
    """``--out`` writes one report: SR167 for several, before anything is computed."""
    copy = tmp_path / "rfm_copy.yaml"
    copy.write_text(SPECS["rfm_long.yaml"].replace("name: rfm_long", "name: rfm_copy"), encoding="utf-8")
    out = tmp_path / "report.html"
    several = invoke("rfm", "specs/rfm_long.yaml", str(copy), "--db", str(project / "shop.duckdb"), "--out", str(out))
    assert several.exit_code == 2 and "SR167" in several.stderr
    assert "rfm --out works on one spec; 2 are selected" in several.stderr and not out.exists()
    one = invoke("rfm", "specs", "--out", str(out))  # the folder has one spec with an rfm: section
    assert one.exit_code == 0, one.output
    assert out.is_file() and out.with_suffix(".png").is_file()
    funnel = tmp_path / "funnel.html"
    assert invoke("funnel", "--out", str(funnel)).exit_code == 0 and funnel.is_file()


def test_plugin_commands_console_factory_follows_the_core_rules(monkeypatch, capsys):
    """``segrules.plugin.make_console`` is the core CLI's console: off a terminal unbounded in width
    and without colour; on a terminal its width, colour unless ``NO_COLOR``; stderr for notes."""
    from rich.table import Table

    import segrules.cli.console as core
    from segrules.plugin import make_console
    for name in ("FORCE_COLOR", "NO_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "70")
    piped = make_console()
    assert not piped.is_terminal and piped.width == core.make_console().width == 100_000
    table = Table("name")
    table.add_row("x" * 150)
    piped.print(table, "[red]red[/red]")
    out = capsys.readouterr().out
    assert "x" * 150 in out and "\x1b[" not in out
    assert make_console(stderr=True).stderr and not piped.stderr
    monkeypatch.setenv("FORCE_COLOR", "1")  # a terminal: its width, colour
    terminal = make_console()
    assert terminal.is_terminal and terminal.width == 70
    terminal.print("[red]red[/red]")
    assert "\x1b[" in capsys.readouterr().out
    monkeypatch.setenv("NO_COLOR", "1")
    make_console().print("[red]red[/red]")
    assert "\x1b[" not in capsys.readouterr().out
