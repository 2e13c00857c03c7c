"""The cohorts: and experiments: sections: bad input is a positioned diagnostic (validate and run),
never a traceback."""

from __future__ import annotations

import pytest

import segrules
from segrules.errors import SegrulesError

HEAD = """\
version: 1
name: t
entity: {table: users, key: user_id, time: signup_at}
sources:
  events: {table: events, key: user_id, time: at}
  plans: {table: plans, key: user_id}
"""
SCHEMA = """\
schema:
  users: {user_id: int64, signup_at: timestamp, country: string}
  events: {user_id: int64, at: timestamp, name: string}
  plans: {user_id: int64, tier: string}
"""
COHORT = """\
cohorts:
  w:
    start: {start}
    grain: week
    activity: {activity}
    periods: 4
"""
EXPERIMENT = """\
experiments:
  x:
    population: "true"
    split: {{salt: s, groups: {{treatment: 1, control: 1}}{control}}}
    metric: {metric}
    start: 2025-03-03
"""


def diagnostics(text: str):
    try:
        spec = segrules.load_text(HEAD + text + SCHEMA, "t.yaml")
    except SegrulesError as exc:  # the section's shape: checked when the spec is loaded
        return [(d.code, d.span.line, d.span.column) for d in exc.diagnostics]
    return [(d.code, d.span.line if d.span else None, d.span.column if d.span else None)
            for d in spec.validate() if d.is_error]


def cohort(start="signup_at", activity="events where name == 'login'", segments="  s: {where: 'true'}\n"):
    return COHORT.format(start=start, activity=activity) + "segments:\n" + segments


def experiment(metric="count(events)", control="", segments="  s: {where: 'true'}\n"):
    return EXPERIMENT.format(metric=metric, control=control) + "segments:\n" + segments


@pytest.mark.parametrize("text, want", [
    (cohort(), []),
    (cohort(activity="plans"), [("COH101", 11, 15)]),
    (cohort(activity="evnts where name == 'x'"), [("SR302", 11, 15)]),
    (cohort(activity="events where nme == 'x'"), [("SR301", 11, 28)]),
    (cohort(activity="events where name"), [("SR415", 11, 28)]),
    (cohort(activity="events when name == 'x'"), [("SR100", 11, 15)]),
    (cohort(start="country"), [("SR415", 9, 12)]),
    (cohort(start="first(events.at)"), []),
    (cohort(segments="  s: {where: \"retained('w', 5)\"}\n"), [("SR434", 14, 15)]),
    (cohort(segments="  s: {where: \"retained('v', 1)\"}\n"), [("SR320", 14, 24)]),
    (cohort(segments="  s: {where: \"cohort('w') == 1\"}\n"), [("SR401", 14, 15)]),
    (experiment(), []),
    (experiment(control=", control: ctrl"), [("COH102", 10, 67)]),
    (experiment(metric="max(events.name)"), [("COH103", 11, 13)]),
    (experiment(metric="count(evnts)"), [("SR302", 11, 13)]),
    (experiment(segments="  s: {where: \"variant('x') == 'treatment'\"}\n"), []),
    (experiment(segments="  s: {where: \"variant('y') == 'treatment'\"}\n"), [("SR320", 14, 23)]),
])
def test_cohorts_checks_positioned(text, want):
    assert diagnostics(text) == want


def test_cohorts_checks_section_errors_stop_run(tmp_path):
    import ibis
    con = ibis.duckdb.connect()
    con.create_table("users", schema=ibis.schema({"user_id": "int64", "signup_at": "timestamp", "country": "string"}))
    con.create_table("events", schema=ibis.schema({"user_id": "int64", "at": "timestamp", "name": "string"}))
    con.create_table("plans", schema=ibis.schema({"user_id": "int64", "tier": "string"}))
    spec = segrules.load_text(HEAD + cohort(activity="plans", segments="  s: {where: \"retained('w', 1)\"}\n"),
                              "t.yaml")
    with pytest.raises(SegrulesError) as exc:
        spec.evaluate(con, as_of="2025-04-01").to_pyarrow()
    assert [d.code for d in exc.value.diagnostics] == ["COH101"]
