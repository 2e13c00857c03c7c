"""segrules test: fixture columns that no row shows are typed by how the new functions use them,
so a case can leave them out and the spec still checks."""

from __future__ import annotations

import ibis.expr.datatypes as dt
from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules.testing.usage import usage_types

SPEC = """\
version: 1
name: fx
entity: {table: people, key: id}
segments:
  top: {where: "top_n(score, 1)"}
  late: {where: "percent_rank(joined_at) > 0.5 and joined_at > now - 300d"}
  renew: {where: "add_months(renew_at, months) <= now"}
  gap: {where: "days_between(seen_at, now) > 3 or hours_between(seen_at, now) > 100"}
  holdout: {where: "bucket(code, 'x', 2) == 0"}
"""


def test_fixtures_usage_types_of_the_new_functions():
    types = usage_types(segrules.load_text(SPEC))["people"]
    assert types["score"] == dt.float64  # ranked, nothing else says
    assert types["joined_at"] == dt.timestamp  # ranked, and compared with a time
    assert types["renew_at"] == dt.timestamp and types["months"] == dt.int64
    assert types["seen_at"] == dt.timestamp
    assert types["code"] == dt.string


def test_fixtures_a_case_with_empty_columns_runs(tmp_path):
    (tmp_path / "fx.yaml").write_text(SPEC, encoding="utf-8")
    (tmp_path / "fx.test.yaml").write_text("""\
spec: fx.yaml
as_of: 2026-11-01
cases:
  - name: only keys
    data:
      people: [{id: 1}, {id: 2}]
    expect:
      1: {not_in: [top, late, renew, gap]}
  - name: the higher score is the top
    data:
      people: [{id: 1, score: 3}, {id: 2, score: 5}]
    expect:
      2: {in: [top]}
      1: {not_in: [top]}
""", encoding="utf-8")
    result = CliRunner().invoke(main, ["test", str(tmp_path / "fx.yaml")])
    assert result.exit_code == 0, result.output
