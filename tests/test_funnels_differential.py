"""Funnels against the plain-Python oracle of tests/funnel_reference.py on generated data, on
DuckDB and PostgreSQL: funnel_step() per entity (and sequence() of the same steps, whose
semantics a funnel shares), the users per step, the median and p90 times between steps, the
breakdown groups, and the chi-square test against scipy on the raw rows (to 1e-9)."""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segrules
import segrules_cohorts.funnels as funnels_plugin
from funnel_reference import RefStep, funnel, report
from rfm_helpers import connect
from segrules_cohorts.funnels.report import compute_report

BASE, NOW = datetime(2025, 3, 1), datetime(2025, 3, 5, 4)
POOL = {  # step text -> the oracle's step
    "events where name == 'a'": RefStep("events", lambda r: r["name"] == "a"),
    "events where name == 'b'": RefStep("events", lambda r: r["name"] == "b"),
    "events where name == 'c'": RefStep("events", lambda r: r["name"] == "c"),
    "events": RefStep("events", lambda r: True),
    "orders where status == 'paid'": RefStep("orders", lambda r: None if r["status"] is None else r["status"] == "paid"),
}
DURATIONS = {None: None, "1d": timedelta(days=1), "36h": timedelta(hours=36), "3d": timedelta(days=3)}
USERS = 7

hours = st.one_of(st.none(), st.integers(0, 110))
event_rows = st.lists(st.tuples(st.integers(1, USERS + 1), hours, st.sampled_from("abc")), max_size=40)
order_rows = st.lists(st.tuples(st.integers(1, USERS + 1), hours, st.sampled_from(["paid", "refunded", None])),
                      max_size=12)
funnels = st.fixed_dictionaries({
    "steps": st.lists(st.sampled_from(sorted(POOL)), min_size=2, max_size=4),
    "convert": st.sampled_from(sorted(DURATIONS, key=str)),
    "within": st.sampled_from([None, "3d"]),
    "entry": st.sampled_from(["any", "first"]),
})
sizes = st.lists(st.sampled_from(["s", "m", "l", None]), min_size=USERS, max_size=USERS)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def backend(request):
    con = connect(request.param)
    tag = uuid.uuid4().hex[:8]
    names = {"users": f"fu_u_{tag}", "events": f"fu_e_{tag}", "orders": f"fu_o_{tag}"}
    yield con, names
    for table in names.values():
        con.drop_table(table, force=True)
    con.disconnect()


def _time(h):
    return None if h is None else BASE + timedelta(hours=h)


def _create(con, name, columns: dict, types: dict):
    schema = ibis.schema(types)
    con.create_table(name, pa.table(columns, schema=schema.to_pyarrow()), schema=schema, overwrite=True)


def _load(con, names, size, events, orders):
    _create(con, names["users"], {"user_id": list(range(1, USERS + 1)), "size": size},
            {"user_id": "int64", "size": "string"})
    _create(con, names["events"], {"user_id": [e[0] for e in events], "ts": [_time(e[1]) for e in events],
                                   "name": [e[2] for e in events]},
            {"user_id": "int64", "ts": "timestamp", "name": "string"})
    _create(con, names["orders"], {"user_id": [o[0] for o in orders], "ordered_at": [_time(o[1]) for o in orders],
                                   "status": [o[2] for o in orders]},
            {"user_id": "int64", "ordered_at": "timestamp", "status": "string"})
    tables = {"events": [{"user_id": e[0], "t": _time(e[1]), "name": e[2]} for e in events],
              "orders": [{"user_id": o[0], "t": _time(o[1]), "status": o[2]} for o in orders]}
    return tables


def _spec(names, f):
    options = "".join(f"\n    {k}: {f[k]}" for k in ("convert", "within") if f[k]) + f"\n    entry: {f['entry']}"
    window = "".join(f" {k} {f[k]}" for k in ("convert", "within") if f[k])
    sequence = "sequence(" + " then ".join(f["steps"]) + window + ")"
    text = f"""
version: 1
name: diff
entity: {{table: {names['users']}, key: user_id}}
sources:
  events: {{table: {names['events']}, key: user_id, time: ts}}
  orders: {{table: {names['orders']}, key: user_id, time: ordered_at}}
funnels:
  f:
    steps: {f['steps']!r}{options}
    breakdown: [size, "coalesce(size, 'none')"]
features:
  step: "funnel_step('f')"
  seq: "{sequence}"
segments:
  started: {{where: "funnel_step('f') >= 1"}}
"""
    registry = segrules.default_registry(plugins=[funnels_plugin], load_entrypoints=False)
    return segrules.load_text(text, "diff.yaml", registry=registry)


def _close(a, b):
    return (a is None and b is None) or (a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9,
                                                                                           abs_tol=1e-6))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=sizes, events=event_rows, orders=order_rows, f=funnels)
def test_funnels_equal_the_reference(backend, size, events, orders, f):
    con, names = backend
    tables = _load(con, names, size, events, orders)
    spec = _spec(names, f)
    steps = [POOL[s] for s in f["steps"]]
    users = {u: size[u - 1] for u in range(1, USERS + 1)}
    paths = funnel(users, steps, tables, NOW, DURATIONS[f["convert"]], DURATIONS.get(f["within"]), f["entry"])

    wide = spec.evaluate(con, as_of=NOW).to_pandas().set_index("user_id")
    assert {u: int(wide.loc[u, "step"]) for u in users} == {u: p[0] for u, p in paths.items()}
    if f["entry"] == "any":  # a funnel is a sequence: the same furthest step
        assert (wide["step"] == wide["seq"]).all()

    k = len(steps)
    expected = report(users, paths, k, by=lambda u: users[u])
    got = compute_report(spec, con, "f", as_of=NOW)
    assert [s.users for s in got.steps] == expected["counts"]
    for j in range(2, k + 1):
        assert _close(got.steps[j - 1].median_seconds, expected["quantiles"][j][0])
        assert _close(got.steps[j - 1].p90_seconds, expected["quantiles"][j][1])
    by_size = got.breakdowns[0]
    assert {g.value: g.users for g in by_size.groups} == expected["groups"]
    filled = {("none" if k_ == "(null)" else k_): v for k_, v in expected["groups"].items()}
    assert {g.value: g.users for g in got.breakdowns[1].groups} == filled
    ref_test = expected["conversion_test"]
    if ref_test is None:
        assert by_size.conversion_test is None
    else:
        test = by_size.conversion_test
        assert (test.dof, math.isclose(test.statistic, ref_test[0], rel_tol=1e-9, abs_tol=1e-12)) == (ref_test[1], True)
        assert abs(test.p_value - ref_test[2]) <= 1e-9
