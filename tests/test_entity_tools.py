"""``entity.NAME`` around the core: ``segrules test`` fixtures typed by it, ``preview`` showing the
values it reads, and failure explanations of spec tests."""

from __future__ import annotations

from datetime import datetime

from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules.preview import explaining_nodes, preview_members

from entity_data import HEAD
from helpers import SCHEMA, duckdb_shop

SPEC = HEAD + """\
segments:
  activated:
    where: count(orders where ordered_at <= entity.signup_at + 7d) >= 1
  trial_logins:
    where: count(events where name == 'login' between entity.trial_end_at - 14d and entity.trial_end_at) > 0
  opted_in_buyers:
    where: count(orders where entity.marketing_opt_in) > 0
  bought_after_cart:
    where: count(orders where ordered_at > entity.last_cart_at) > 0
"""

TESTS = """\
spec: activation.yaml
as_of: 2026-10-15T12:00:00
cases:
  - name: only the customers' own dates count
    data:
      customers:
        - {customer_id: 1}
        - {customer_id: 2}
      orders:
        - {customer_id: 1, ordered_at: 2026-10-01T10:00:00}
        - {customer_id: 2, ordered_at: 2026-10-01T10:00:00}
    expect:
      1: {not_in: [activated, trial_logins, opted_in_buyers, bought_after_cart]}
  - name: activation within 7 days, login in the last 14 days of the trial, order after the cart
    data:
      customers:
        - {customer_id: 1, signup_at: 2026-09-25T10:00:00, trial_end_at: 2026-10-09T10:00:00, marketing_opt_in: true}
        - {customer_id: 2, signup_at: 2026-09-20T10:00:00, trial_end_at: 2026-10-04T10:00:00, marketing_opt_in: false}
      orders:
        - {customer_id: 1, ordered_at: 2026-10-02T10:00:00}      # exactly 7 days after signing up
        - {customer_id: 2, ordered_at: 2026-10-02T10:00:00}
      events:
        - {customer_id: 1, name: login, ts: 2026-09-25T10:00:00}       # exactly trial_end_at - 14d
        - {customer_id: 2, name: login, ts: 2026-10-04T10:00:01}       # after the trial
        - {customer_id: 1, name: add_to_cart, ts: 2026-10-02T10:00:00}  # a tie: not strictly before
        - {customer_id: 2, name: add_to_cart, ts: 2026-10-01T10:00:00}
    expect:
      1: {in: [activated, trial_logins, opted_in_buyers], not_in: [bought_after_cart]}
      2: {in: [bought_after_cart], not_in: [activated, trial_logins, opted_in_buyers]}
"""


def write(folder, spec=SPEC, tests=TESTS):
    (folder / "activation.yaml").write_text(spec, encoding="utf-8")
    path = folder / "activation.test.yaml"
    path.write_text(tests, encoding="utf-8")
    return path


def test_entity_tools_fixture_columns_typed_by_entity_use(tmp_path):
    """Columns no row shows, read only as entity.NAME: a shifted time or a time range bound is a
    timestamp, a bare condition a boolean."""
    from segrules.testing.fixtures import fixture_schemas
    from segrules.testing.loader import read_test_file

    only_keys = TESTS.split("  - name: activation")[0]
    doc = read_test_file(write(tmp_path, tests=only_keys))
    schemas, problems = fixture_schemas(doc, segrules.load(doc.spec_path))
    assert problems == []
    customers = schemas["customers"]
    assert customers["signup_at"].is_timestamp()
    assert customers["trial_end_at"].is_timestamp()
    assert customers["marketing_opt_in"].is_boolean()
    assert "last_cart_at" not in customers.names  # a feature, not a column


def test_entity_tools_spec_tests_pass(tmp_path):
    result = CliRunner().invoke(main, ["test", str(write(tmp_path))], catch_exceptions=False)
    assert result.exit_code == 0, result.output


def test_entity_tools_spec_test_failure_shows_the_entity_value(tmp_path):
    path = write(tmp_path, tests=TESTS.replace("1: {in: [activated, trial_logins, opted_in_buyers]",
                                               "1: {in: [activated, trial_logins, opted_in_buyers, bought_after_cart]"))
    result = CliRunner().invoke(main, ["test", str(path)], catch_exceptions=False)
    assert result.exit_code == 1
    assert "bought_after_cart" in result.output and "last_cart_at" in result.output


def test_entity_tools_preview_shows_entity_values_read():
    now = datetime(2026, 10, 15, 12)
    spec = segrules.load_text(SPEC.replace("trial_end_at", "signup_at") + SCHEMA.replace(
        "marketing_opt_in: boolean}", "marketing_opt_in: boolean}"), "t.yaml")
    checked = spec.check()
    assert set(explaining_nodes(checked, "activated")) == {
        "signup_at", "count(orders where ordered_at <= entity.signup_at + 7d)"}
    assert set(explaining_nodes(checked, "bought_after_cart")) == {
        "last_cart_at", "count(orders where ordered_at > entity.last_cart_at)"}
    con = duckdb_shop(now, orders=[(1, 1, 5.0, "paid"), (2, 1, 5.0, "paid")],
                      events=[(2, 2, "add_to_cart")], signup_at=[now, now, now, now])
    rows = preview_members(spec, con, "activated", as_of=now).to_pylist()
    assert [r["customer_id"] for r in rows] == [1, 2]
    assert rows[0]["signup_at"] == now and rows[0]["count(orders where ordered_at <= entity.signup_at + 7d)"] == 1
    rows = preview_members(spec, con, "bought_after_cart", as_of=now).to_pylist()
    assert [(r["customer_id"], r["last_cart_at"]) for r in rows] == [(2, datetime(2026, 10, 13, 12))]
