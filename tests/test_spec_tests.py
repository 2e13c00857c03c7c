"""``segrules test``: spec unit tests (``<spec>.test.yaml``) — every shipped spec has one and it
passes; bad test files get positioned errors; failures explain themselves."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segrules

from segrules.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = sorted(p for p in (ROOT / "segment_specs").rglob("*.yaml") if not p.name.endswith(".test.yaml"))


def run(*args):
    return CliRunner().invoke(main, ["test", *map(str, args)], catch_exceptions=False)


@pytest.mark.parametrize("spec", SHIPPED, ids=lambda p: p.name)
def test_spec_tests_every_shipped_spec_has_passing_tests(spec):
    test_file = spec.with_name(spec.stem + ".test.yaml")
    assert test_file.is_file(), f"{spec} has no {test_file.name}"
    result = run(spec)
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output and "passed" in result.output


def test_spec_tests_all_shipped_specs_in_one_run_as_junit():
    result = run(ROOT / "segment_specs", "--format", "junit")
    assert result.exit_code == 0, result.output
    suites = ET.fromstring(result.output.split("\n", 1)[-1] if result.output.startswith("<?xml") else result.output)
    assert len(suites) == len(SHIPPED)
    assert all(s.get("failures") == "0" and s.get("errors") == "0" for s in suites)
    assert sum(len(s) for s in suites) >= 25


@pytest.fixture
def shop(tmp_path):
    """The shipped ecommerce spec without its schema: block: the tests below type fixture columns
    from their rows and their use, as for a spec checked only against a warehouse."""
    text = (ROOT / "segment_specs" / "ecommerce.yaml").read_text(encoding="utf-8")
    (tmp_path / "ecommerce.yaml").write_text(text[:text.index("\nschema:") + 1], encoding="utf-8")
    return tmp_path


def write(folder: Path, text: str) -> Path:
    path = folder / "ecommerce.test.yaml"
    path.write_text(text, encoding="utf-8")
    return path


REFUNDS = """\
spec: ecommerce.yaml
cases:
  - name: refunds
    as_of: 2025-06-30
    data:
      customers: [{customer_id: 1, signup_at: 2020-01-01, country: NO, email: x}]
      orders:
        - {customer_id: 1, amount: 300, status: paid, ordered_at: 2025-06-01}
        - {customer_id: 1, amount: 400, status: refunded, ordered_at: 2025-06-02}
      events: [{customer_id: 1, name: x, ts: 2025-01-01}]
    expect:
      1: {in: [big_spenders], not_in: [lapsed]}
"""


def test_spec_tests_failure_shows_case_key_segment_and_values(shop):
    write(shop, REFUNDS)
    result = run(shop / "ecommerce.yaml")
    assert result.exit_code == 1
    out = result.output
    assert "FAIL" in out and ":: refunds" in out
    assert "ecommerce.test.yaml:12:16: customer_id 1: expected in big_spenders, but is not a member" in out
    assert "rule: sum(orders.amount where status == 'paid' within 90d) > $vip_threshold" in out
    assert "sum(orders.amount where status == 'paid' within 90d) = 300" in out  # the refund is left out
    assert "$vip_threshold = 500" in out
    assert "0 passed, 1 failed" in out


def test_spec_tests_params_override_and_formats(shop):
    write(shop, REFUNDS.replace("    as_of: 2025-06-30\n", "    as_of: 2025-06-30\n    params: {vip_threshold: 299}\n"))
    assert run(shop).exit_code == 0
    write(shop, REFUNDS)
    payload = json.loads(run(shop, "--format", "json").output)
    failure = payload["files"][0]["cases"][0]["failures"][0]
    assert payload["passed"] is False
    assert failure["segment"] == "big_spenders" and failure["expected"] == "in" and failure["key"] == 1
    assert failure["values"]["$vip_threshold"] == 500
    github = run(shop, "--format", "github").output
    assert github.startswith("::error file=") and "line=12,col=16" in github and "title=SR140" in github
    junit = ET.fromstring(run(shop, "--format", "junit").output.split("?>", 1)[1])
    assert junit[0].get("failures") == "1" and junit[0][0].find("failure").get("type") == "SR140"


def test_spec_tests_norway_is_a_country_not_false(shop):
    write(shop, REFUNDS.replace("{in: [big_spenders], not_in: [lapsed]}", "{not_in: [eu_gmail, big_spenders]}")
          .replace("country: NO", "country: NO, plan: yes"))
    result = run(shop)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("mutation,code,where", [
    (("1: {in: [big_spenders], not_in: [lapsed]}", "1: {in: [big_spender]}"), "SR132", "12:16"),
    (("1: {in: [big_spenders], not_in: [lapsed]}", "2: {in: [lapsed]}"), "SR134", "12:7"),
    (("customers: [", "customer: ["), "SR133", "6:7"),
    (("not_in: [lapsed]", "nott_in: [lapsed]"), "SR105", "12:31"),
    (("    as_of: 2025-06-30\n", ""), "SR138", "3:5"),
    (("amount: 300,", "amount: three,"), "SR136", "9:36"),
    (("spec: ecommerce.yaml", "spec: nope.yaml"), "SR131", "1:7"),
    (("  - name: refunds\n", "  - name: refunds\n    params: {vip: 1}\n"), "SR305", "4:14"),
])
def test_spec_tests_bad_test_file_is_a_positioned_error(shop, mutation, code, where):
    path = write(shop, REFUNDS.replace(*mutation))
    result = run(path)
    assert result.exit_code == 2, result.output
    assert f"ecommerce.test.yaml:{where}: error[{code}]" in result.output, result.output


def test_spec_tests_declared_types_are_checked(shop):
    text = REFUNDS.replace("cases:", "schema:\n  orders: {ordered_at: date}\ncases:").replace(
        "ordered_at: 2025-06-01}", "ordered_at: 2025-06-01T10:00:00}")
    result = run(write(shop, text))
    assert result.exit_code == 2
    assert "error[SR136]: orders.ordered_at: datetime.datetime(2025, 6, 1, 10, 0) is a timestamp" in result.output


def test_spec_tests_spec_without_test_file_is_bad_input(tmp_path):
    shutil.copy(ROOT / "segment_specs" / "ecommerce.yaml", tmp_path / "other.yaml")
    result = run(tmp_path / "other.yaml")
    assert result.exit_code == 2 and "no test file for" in result.output


def test_spec_tests_timestamps_with_offsets_are_read_in_the_spec_zone(tmp_path):
    (tmp_path / "s.yaml").write_text("""\
version: 1
name: tz
timezone: Europe/Berlin
entity: {table: users, key: id}
sources:
  visits: {table: visits, key: id, time: at}
segments:
  visited_today: {where: count(visits where at >= today) > 0}
schema:
  users: {id: int64}
  visits: {id: int64, at: timestamp}
""")
    (tmp_path / "s.test.yaml").write_text("""\
spec: s.yaml
as_of: 2026-07-01T12:00:00
cases:
  - name: 23:30 UTC on June 30 is 01:30 on July 1 in Berlin
    data:
      users: [{id: 1}, {id: 2}, {id: 3}]
      visits:
        - {id: 1, at: 2026-06-30T23:30:00Z}
        - {id: 2, at: 2026-06-30T21:30:00Z}   # 23:30 in Berlin: yesterday
        - {id: 3, at: 2026-06-30T23:30:00}    # no offset: Berlin time, yesterday
    expect:
      1: {in: [visited_today]}
      2: {not_in: [visited_today]}
      3: {not_in: [visited_today]}
""")
    result = run(tmp_path / "s.yaml")
    assert result.exit_code == 0, result.output


def test_spec_tests_the_example_in_docs_testing_runs_and_passes(shop):
    text = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    block = re.search(r"^```yaml\n(.*?)^```", text, re.S | re.M).group(1)
    assert block.startswith("# segment_specs/ecommerce.test.yaml\nspec: ecommerce.yaml")
    write(shop, block)
    result = run(shop / "ecommerce.yaml")
    assert result.exit_code == 0, result.output
    assert "2 passed, 0 failed" in result.output


ISSUE_EXAMPLE = """\
spec: ecommerce.yaml
cases:
  - name: a paid order over the threshold makes a big spender
    as_of: 2025-06-30
    data:
      customers: [{customer_id: 1, signup_at: 2024-01-01, country: US, email: a@gmail.com}]
      orders:    [{customer_id: 1, amount: 600, status: paid, ordered_at: 2025-06-01}]
    expect:
      1: {in: [big_spenders], not_in: [lapsed, new_customers]}
"""


def test_spec_tests_columns_no_row_shows_are_typed_by_their_use(shop):
    """No schema anywhere and no events rows: events.name (compared with a string) and events.ts
    (the time column) still get types, so the example of the issue runs as written."""
    from segrules.testing.fixtures import fixture_schemas
    from segrules.testing.loader import read_test_file
    path = write(shop, ISSUE_EXAMPLE)
    result = run(path)
    assert result.exit_code == 0, result.output
    doc = read_test_file(path)
    schemas, problems = fixture_schemas(doc, segrules.load(doc.spec_path))
    assert problems == []
    events = schemas["events"]
    assert events["ts"].is_timestamp() and events["name"].is_string() and events["customer_id"].is_integer()
    assert schemas["customers"]["signup_at"].is_date()  # from the rows: YAML dates


def test_spec_tests_a_source_the_rules_never_read_gets_its_key_column(shop):
    from segrules.testing.fixtures import fixture_schemas
    from segrules.testing.loader import read_test_file
    spec = (shop / "ecommerce.yaml").read_text().replace(
        "  events: {table: events, key: customer_id, time: ts}\n",
        "  events: {table: events, key: customer_id, time: ts}\n  notes: {table: notes, key: customer_id}\n")
    (shop / "ecommerce.yaml").write_text(spec)
    path = write(shop, ISSUE_EXAMPLE)
    assert run(path).exit_code == 0
    doc = read_test_file(path)
    schemas, _ = fixture_schemas(doc, segrules.load(doc.spec_path))
    assert schemas["notes"].names == ("customer_id",) and schemas["notes"]["customer_id"].is_integer()


@pytest.fixture(scope="module")
def garbage_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("garbage")
    shutil.copy(ROOT / "segment_specs" / "ecommerce.yaml", folder / "ecommerce.yaml")
    return folder


SNIPPETS = ["", "x", "1", "-", ":", "[", "]", "{", "}", "null", "[1, 2]", "{a: 1}", "2025-13-01", "'", "in",
            "not_in", "as_of", "customers", "- name: x", "expect:", "9: {in: []}", "true", "1e999", "\t"]


@given(data=st.data())
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_spec_tests_garbage_test_files_never_crash(garbage_dir, data):
    """Random line edits of a valid test file: always an exit code (0, 1 or 2) and, for 2,
    diagnostics with a file:line:col inside the file; never a traceback."""
    lines = REFUNDS.splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        cut = data.draw(st.integers(0, len(line)))
        lines[i] = line[:cut] + data.draw(st.sampled_from(SNIPPETS)) + line[cut + data.draw(st.integers(0, 6)):]
    path = garbage_dir / "ecommerce.test.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["test", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1, 2)
    if result.exit_code == 2:
        assert re.search(r"ecommerce(\.test)?\.yaml:\d+:\d+: error\[SR\d{3}\]", result.output), result.output


def test_spec_tests_json_schema_of_the_test_file_format():
    result = CliRunner().invoke(main, ["schema", "--test-file"])
    schema = json.loads(result.output)
    assert schema["title"] == "SpecTestModel" and set(schema["required"]) == {"spec", "cases"}
    case = schema["$defs"]["Case"]
    assert {"name", "as_of", "params", "data", "expect"} <= set(case["properties"])
    assert set(schema["$defs"]["Expectation"]["properties"]) == {"in", "not_in"}
