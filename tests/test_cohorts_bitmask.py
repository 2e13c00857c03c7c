"""Classic retention keeps the active periods of an entity in bitmasks of 62 periods each
(plugins/segrules_cohorts/retention.py): matrices and retained() over more than one mask (daily
cohorts with 130 periods: masks m0, m1, m2) equal the pandas reference, on DuckDB and
PostgreSQL, with activity on the masks' edge periods (61, 62, 123, 124)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from segrules_cohorts.report import compute_cohort
from test_cohorts_retention import NOW, backend, load  # noqa: F401  (backend: the fixture)

import cohorts_reference as ref
import segrules

PERIODS = 130
EDGES = [0, 1, 60, 61, 62, 63, 122, 123, 124, 125, 129, 130, 131]
RETAINED = [0, 61, 62, 123, 124, 130]  # retained() on both sides of each mask boundary


def check(con, names, entities, events):
    """The matrix, and retained() at the mask edges, equal the pandas reference."""
    text = (f"version: 1\nname: t\nentity: {{table: {names['entities']}, key: id}}\n"
            f"sources:\n  events: {{table: {names['events']}, key: id, time: at}}\n"
            f"cohorts:\n  c:\n    start: signup_at\n    grain: day\n    activity: events where kind == 'buy'\n"
            f"    periods: {PERIODS}\n    retention: classic\nfeatures:\n"
            + "".join(f"  r{k}: retained('c', {k})\n" for k in RETAINED)
            + "segments:\n  any: {where: 'true'}\n")
    spec = segrules.load_text(text, "t.yaml")
    starts = entities.rename(columns={"id": "key", "signup_at": "start"})
    activity = events.rename(columns={"id": "key", "at": "time"}).assign(ok=events["kind"] == "buy")
    now = pd.Timestamp(NOW)
    report = compute_cohort(spec, con, "c", as_of=NOW)
    assert {r.label: (r.size, list(r.active)) for r in report.rows} == ref.matrix(
        starts, activity, "day", PERIODS, "classic", now)
    wide = spec.evaluate(con, as_of=NOW).to_pyarrow().to_pandas().set_index("id")
    per = ref.per_entity(starts, activity, "day", PERIODS, "classic", now).set_index("key")
    for k in RETAINED:
        mine = {i: (None if pd.isna(v) else bool(v)) for i, v in wide[f"r{k}"].items()}
        theirs = {i: per[f"retained_{k}"].get(i) for i in wide.index}
        assert mine == {i: (None if v is None or pd.isna(v) else bool(v)) for i, v in theirs.items()}, k


def test_cohorts_bitmask_edges_of_the_masks(backend):  # noqa: F811
    _, con, names = backend
    start = pd.Timestamp(NOW) - pd.Timedelta(days=135)
    entities = pd.DataFrame({"id": [1, 2, 3], "signup_at": [start, start + pd.Timedelta(hours=5), None]})
    days = [start + pd.Timedelta(days=d, hours=h) for d, h in zip(EDGES, [1, 23, 0, 12, 3, 0, 1, 2, 3, 4, 5, 6, 7])]
    events = pd.DataFrame({"id": [1] * len(days) + [2, 2, 3], "at": days + [days[4], days[8], days[4]],
                           "kind": ["buy"] * (len(days) + 3)})
    load(con, names, entities, events)
    check(con, names, entities, events)


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 140 * 24)), max_size=80),
       st.lists(st.none() | st.integers(0, 10 * 24), min_size=5, max_size=5))
@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
def test_cohorts_bitmask_equals_pandas_reference(backend, rows, starts):  # noqa: F811
    _, con, names = backend
    base = NOW - timedelta(days=140)
    entities = pd.DataFrame({"id": range(5), "signup_at": pd.to_datetime(pd.Series(
        [None if s is None else base + timedelta(hours=s) for s in starts], dtype=object))})
    events = pd.DataFrame({"id": [r[0] for r in rows],
                           "at": pd.to_datetime(pd.Series([base + timedelta(hours=r[1]) for r in rows], dtype=object)),
                           "kind": ["buy"] * len(rows)})
    load(con, names, entities, events)
    check(con, names, entities, events)
