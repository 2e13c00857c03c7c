"""Retention matrices and the cohort()/retained() rule functions equal an independent pandas
implementation (tests/cohorts_reference.py) on generated data, on DuckDB and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import segrules
from segrules_cohorts.report import compute_cohort

import cohorts_reference as ref
from rfm_helpers import BACKENDS, connect

NOW = datetime(2025, 3, 5, 15, 30)  # a Wednesday; the data crosses the 2024/2025 ISO year boundary
BASE = datetime(2024, 11, 20)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    con = connect(request.param)
    tag = uuid.uuid4().hex[:8]
    names = {"entities": f"coh_e_{tag}", "events": f"coh_a_{tag}"}
    yield request.param, con, names
    for table in names.values():
        con.drop_table(table, force=True)
    con.disconnect()


def spec_text(names, grain, periods, retention, start="signup_at", where=" where kind == 'buy'"):
    return (f"version: 1\nname: t\nentity: {{table: {names['entities']}, key: id}}\n"
            f"sources:\n  events: {{table: {names['events']}, key: id, time: at}}\n"
            f"cohorts:\n  c:\n    start: {start}\n    grain: {grain}\n    activity: events{where}\n"
            f"    periods: {periods}\n    retention: {retention}\n"
            f"features:\n  label: cohort('c')\n"
            + "".join(f"  r{k}: retained('c', {k})\n" for k in range(periods + 1))
            + "segments:\n  any: {where: 'true'}\n")


def _arrow(df: pd.DataFrame, schema):
    return pa.Table.from_pandas(df, schema=schema.to_pyarrow(), preserve_index=False)


def load(con, names, entities: pd.DataFrame, events: pd.DataFrame):
    for name, df, schema in [(names["entities"], entities, ibis.schema({"id": "int64", "signup_at": "timestamp"})),
                             (names["events"], events, ibis.schema({"id": "int64", "at": "timestamp",
                                                                     "kind": "string"}))]:
        con.create_table(name, _arrow(df, schema), schema=schema, overwrite=True)


def check(con, names, entities, events, grain, periods, retention):
    spec = segrules.load_text(spec_text(names, grain, periods, retention), "t.yaml")
    report = compute_cohort(spec, con, "c", as_of=NOW)
    starts = entities.rename(columns={"id": "key", "signup_at": "start"})
    activity = events.rename(columns={"id": "key", "at": "time"}).assign(ok=events["kind"] == "buy")
    want = ref.matrix(starts, activity, grain, periods, retention, pd.Timestamp(NOW))
    got = {r.label: (r.size, list(r.active)) for r in report.rows}
    assert got == want
    # the rule functions, per entity
    wide = spec.evaluate(con, as_of=NOW).to_pyarrow().to_pandas().set_index("id")
    per = ref.per_entity(starts, activity, grain, periods, retention, pd.Timestamp(NOW)).set_index("key")
    labels = wide["label"].dropna().to_dict()
    assert labels == per["cohort"].to_dict()
    for k in range(periods + 1):
        mine = {i: (None if pd.isna(v) else bool(v)) for i, v in wide[f"r{k}"].items()}
        theirs = {i: per[f"retained_{k}"].get(i) for i in wide.index}
        assert mine == {i: (None if v is None or pd.isna(v) else bool(v)) for i, v in theirs.items()}, k


times = st.integers(0, 110 * 24 * 60).map(lambda minutes: BASE + timedelta(minutes=minutes))


@st.composite
def data(draw):
    n = draw(st.integers(1, 25))
    starts = [draw(st.none() | times) for _ in range(n)]
    rows = draw(st.lists(st.tuples(st.integers(0, n), times, st.sampled_from(["buy", "view"]) | st.none()),
                         max_size=60))
    entities = pd.DataFrame({"id": list(range(n)), "signup_at": pd.to_datetime(pd.Series(starts, dtype=object))})
    events = pd.DataFrame({"id": [r[0] for r in rows], "at": pd.to_datetime(pd.Series([r[1] for r in rows],
                                                                                       dtype=object)),
                           "kind": pd.Series([r[2] for r in rows], dtype=object)})
    return entities, events


@given(data(), st.sampled_from(["day", "week", "month"]), st.integers(1, 6), st.sampled_from(["classic", "rolling"]))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
def test_cohorts_retention_equals_pandas_reference(backend, data, grain, periods, retention):
    _, con, names = backend
    entities, events = data
    load(con, names, entities, events)
    check(con, names, entities, events, grain, periods, retention)


def test_cohorts_retention_iso_weeks_and_unobserved_periods(backend):
    _, con, names = backend
    entities = pd.DataFrame({"id": [1, 2, 3, 4], "signup_at": pd.to_datetime(
        ["2024-12-30 00:00", "2024-12-29 23:59", "2025-03-03 00:00", "2025-03-06 00:00"])})
    events = pd.DataFrame({"id": [1, 1, 2, 3, 4], "at": pd.to_datetime(
        ["2025-01-06 00:00", "2025-01-13 08:00", "2024-12-30 00:00", "2025-03-05 00:00", "2025-03-07 00:00"]),
        "kind": ["buy"] * 5})
    load(con, names, entities, events)
    spec = segrules.load_text(spec_text(names, "week", 3, "classic"), "t.yaml")
    report = compute_cohort(spec, con, "c", as_of=NOW)
    rows = {r.label: (r.size, r.active) for r in report.rows}
    # 2024-12-30 is Monday of ISO week 2025-W01; the 29th is in 2024-W52; id 4 starts after now
    # W10 is the week of now: not over, so not shown (W03 ended on Sunday 2025-01-19)
    assert rows == {"2024-W52": (1, (0, 1, 0, 0)), "2025-W01": (1, (0, 1, 1, 0)), "2025-W10": (1, (None,) * 4)}
    assert report.average == (0.0, 1.0, 0.5, 0.0)
    check(con, names, entities, events, "week", 3, "classic")
