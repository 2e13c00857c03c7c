"""Experiments: the split, the statistics and the sample-ratio check equal scipy computed on the raw
per-entity rows (p-values to 1e-9), with unequal weights and tiny groups, on DuckDB and PostgreSQL."""

from __future__ import annotations

import hashlib
import math
import uuid
from datetime import datetime, timedelta

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from scipy import stats as sp

import segrules
from segrules_cohorts.inference import sample_ratio
from segrules_cohorts.experiments import compute_experiment

from rfm_helpers import BACKENDS, connect

START = datetime(2025, 3, 3)
NOW = datetime(2025, 4, 28)
SALT = "exp-2025"


def bucket(x, salt: str, n: int) -> int:  # docs/language.md: the same in Python
    return int(hashlib.md5(f"{salt}:{x}".encode()).hexdigest()[:8], 16) % n


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    con = connect(request.param)
    tag = uuid.uuid4().hex[:8]
    names = {"users": f"exp_u_{tag}", "events": f"exp_e_{tag}"}
    yield con, names
    for table in names.values():
        con.drop_table(table, force=True)
    con.disconnect()


def load(con, names, users: pd.DataFrame, events: pd.DataFrame):
    u = ibis.schema({"user_id": "int64", "plan": "string", "signup_at": "timestamp"})
    e = ibis.schema({"user_id": "int64", "at": "timestamp", "value": "float64"})
    con.create_table(names["users"], pa.Table.from_pandas(users, schema=u.to_pyarrow(), preserve_index=False),
                     schema=u, overwrite=True)
    con.create_table(names["events"], pa.Table.from_pandas(events, schema=e.to_pyarrow(), preserve_index=False),
                     schema=e, overwrite=True)


def spec(names, groups: dict[str, int], metric: str, population: str = "plan != 'staff'", pre: str | None = None):
    groups_text = ", ".join(f"{g}: {w}" for g, w in groups.items())
    return segrules.load_text(
        f"version: 1\nname: t\nentity: {{table: {names['users']}, key: user_id, time: signup_at}}\n"
        f"sources:\n  events: {{table: {names['events']}, key: user_id, time: at}}\n"
        f"experiments:\n  x:\n    population: \"{population}\"\n"
        f"    split: {{salt: {SALT}, groups: {{{groups_text}}}}}\n    metric: \"{metric}\"\n"
        f"    start: {START:%Y-%m-%d}\n" + (f"    pre_period: {pre}\n" if pre else "")
        + "segments:\n  treated: {where: \"variant('x') == 'treatment'\"}\n", "t.yaml")


def assign(users: pd.DataFrame, groups: dict[str, int]) -> pd.Series:
    total, out = sum(groups.values()), {}
    for uid, plan, signup in users.itertuples(index=False):
        if plan == "staff" or signup > START:
            continue
        b, upper = bucket(uid, SALT, total), 0
        for g, w in groups.items():
            upper += w
            if b < upper:
                out[uid] = g
                break
    return pd.Series(out, dtype=object)


def close(got, want, tol=1e-9):
    if want is None or (isinstance(want, float) and math.isnan(want)):
        return got is None
    return got is not None and abs(got - want) <= tol * max(1.0, abs(want))


@st.composite
def shops(draw):
    n = draw(st.integers(2, 60))
    plans = [draw(st.sampled_from(["free", "pro", "staff"])) for _ in range(n)]
    signup = [START - timedelta(days=draw(st.integers(-5, 60))) for _ in range(n)]
    users = pd.DataFrame({"user_id": range(1, n + 1), "plan": plans, "signup_at": signup})
    rows = draw(st.lists(st.tuples(st.integers(1, n), st.integers(-40 * 24, 56 * 24), st.integers(0, 100)),
                         max_size=150))
    events = pd.DataFrame({"user_id": pd.Series([r[0] for r in rows], dtype="int64"),
                           "at": pd.to_datetime(pd.Series([START + timedelta(hours=r[1]) for r in rows],
                                                          dtype="datetime64[us]")),
                           "value": pd.Series([r[2] / 4 for r in rows], dtype="float64")})
    return users, events


def post_metric(users, events, assigned, func):
    since = events[(events["at"] >= START) & (events["at"] <= NOW)]
    return {uid: func(since[since.user_id == uid]) for uid in assigned.index}


def pre_metric(users, events, assigned, func, days):
    window = events[(events["at"] >= START - timedelta(days=days)) & (events["at"] < START)]
    return {uid: func(window[window.user_id == uid]) for uid in assigned.index}


GROUPS = st.sampled_from([{"treatment": 50, "control": 50}, {"treatment": 80, "control": 20},
                          {"control": 1, "treatment": 3}, {"a": 1, "treatment": 1, "control": 1}])


@given(shops(), GROUPS)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
def test_cohorts_experiment_means_equal_scipy(backend, shop, groups):
    con, names = backend
    users, events = shop
    load(con, names, users, events)
    report = compute_experiment(spec(names, groups, "sum(events.value) + count(events)", pre="14d"), con, "x",
                                as_of=NOW)
    assigned = assign(users, groups)
    value = lambda rows: float(rows.value.sum() + len(rows))  # noqa: E731
    post, pre = post_metric(users, events, assigned, value), pre_metric(users, events, assigned, value, 14)
    by = {v.name: v for v in report.variants}
    assert {g: by[g].size for g in groups} == {g: int((assigned == g).sum()) for g in groups}
    control = [post[u] for u in assigned.index if assigned[u] == "control"]
    change_c = [post[u] - pre[u] for u in assigned.index if assigned[u] == "control"]
    for g in groups:
        mine = [post[u] for u in assigned.index if assigned[u] == g]
        assert close(by[g].metric.mean, float(np.mean(mine)) if mine else None)
        if g == "control":
            continue
        change = [post[u] - pre[u] for u in assigned.index if assigned[u] == g]
        want = sp.ttest_ind(mine, control, equal_var=False).pvalue if len(mine) > 1 and len(control) > 1 else None
        assert close(by[g].comparison.p_value, None if want is None or np.isnan(want) else float(want))
        want = (sp.ttest_ind(change, change_c, equal_var=False).pvalue
                if len(change) > 1 and len(change_c) > 1 else None)
        assert close(by[g].did.p_value, None if want is None or np.isnan(want) else float(want))
    assert close(report.srm.p_value, float(sp.chisquare([by[g].size for g in groups],
                                                        [report.srm.expected[g] for g in groups]).pvalue)
                 if assigned.size else None)


@given(shops(), GROUPS)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
def test_cohorts_experiment_proportions_equal_scipy(backend, shop, groups):
    con, names = backend
    users, events = shop
    load(con, names, users, events)
    report = compute_experiment(spec(names, groups, "count(events where value > 10) > 0"), con, "x", as_of=NOW)
    assert report.proportion
    assigned = assign(users, groups)
    post = post_metric(users, events, assigned, lambda rows: bool((rows.value > 10).any()))
    by = {v.name: v for v in report.variants}
    n0 = int((assigned == "control").sum())
    x0 = sum(post[u] for u in assigned.index if assigned[u] == "control")
    for g in groups:
        if g == "control":
            continue
        n1 = int((assigned == g).sum())
        x1 = sum(post[u] for u in assigned.index if assigned[u] == g)
        table = [[x1, n1 - x1], [x0, n0 - x0]]
        degenerate = min(n0, n1) == 0 or x0 + x1 in (0, n0 + n1)
        want = None if degenerate else float(sp.chi2_contingency(table, correction=False).pvalue)
        assert close(by[g].comparison.p_value, want)
        if n1:
            assert close(by[g].metric.mean, x1 / n1)


def test_cohorts_experiment_tiny_and_unequal_groups(backend):
    con, names = backend
    users = pd.DataFrame({"user_id": range(1, 8), "plan": ["free"] * 7, "signup_at": [START] * 7})
    events = pd.DataFrame({"user_id": [1, 2, 2, 3, 5, 6, 7, 7, 7], "at": [START + timedelta(days=1)] * 9,
                           "value": [1.0] * 9})
    load(con, names, users, events)
    groups = {"treatment": 3, "control": 1}
    report = compute_experiment(spec(names, groups, "count(events)"), con, "x", as_of=NOW)
    assigned = assign(users, groups)
    by = {v.name: v for v in report.variants}
    counts = events.groupby("user_id").size().reindex(users.user_id, fill_value=0)
    t = [int(counts[u]) for u in assigned.index if assigned[u] == "treatment"]
    c = [int(counts[u]) for u in assigned.index if assigned[u] == "control"]
    assert (by["treatment"].size, by["control"].size) == (len(t), len(c))
    want = sp.ttest_ind(t, c, equal_var=False).pvalue if len(t) > 1 and len(c) > 1 else float("nan")
    assert close(by["treatment"].comparison.p_value, None if np.isnan(want) else float(want))


@given(st.integers(200, 100_000), st.sampled_from([(50, 50), (90, 10), (1, 1, 1), (70, 20, 10)]),
       st.floats(-1.0, 1.0))
@settings(max_examples=200, deadline=None)
def test_cohorts_srm_fair_split_does_not_fire(n, weights, noise):
    groups = {f"g{i}": w for i, w in enumerate(weights)}
    total = sum(weights)
    expected = [n * w / total for w in weights]
    # within one standard deviation of the expected count in the first group, the rest balanced
    sd = math.sqrt(n * weights[0] / total * (1 - weights[0] / total))
    observed = [round(e) for e in expected]
    shift = int(noise * sd)
    observed[0] += shift
    observed[1] -= shift
    result = sample_ratio(dict(zip(groups, observed)), groups)
    assert not result.mismatch
    expected = [sum(observed) * w / total for w in weights]
    assert close(result.p_value, float(sp.chisquare(observed, expected).pvalue))


@given(st.integers(20_000, 200_000), st.sampled_from([(50, 50), (90, 10), (1, 1, 1)]), st.floats(0.1, 0.5))
@settings(max_examples=200, deadline=None)
def test_cohorts_srm_skewed_split_fires(n, weights, skew):
    groups = {f"g{i}": w for i, w in enumerate(weights)}
    total = sum(weights)
    observed = [round(n * w / total) for w in weights]
    moved = max(1, int(skew * observed[1]))  # a share of the second group lands in the first
    observed[0] += moved
    observed[1] -= moved
    result = sample_ratio(dict(zip(groups, observed)), groups)
    assert result.mismatch
    expected = [sum(observed) * w / total for w in weights]
    assert close(result.p_value, float(sp.chisquare(observed, expected).pvalue))


def test_cohorts_srm_fires_on_a_broken_population(backend, tmp_path):
    """The population itself reads the split's bucket: part of one group is filtered out."""
    con, names = backend
    n = 2000
    users = pd.DataFrame({"user_id": range(1, n + 1), "plan": ["free"] * n, "signup_at": [START] * n})
    events = pd.DataFrame({"user_id": [1], "at": [START + timedelta(days=1)], "value": [1.0]})
    load(con, names, users, events)
    broken = spec(names, {"treatment": 50, "control": 50}, "count(events)",
                  population=f"bucket(user_id, '{SALT}', 100) >= 20")
    report = compute_experiment(broken, con, "x", as_of=NOW)
    assert report.srm.mismatch and report.srm.p_value < 1e-20
    fair = compute_experiment(spec(names, {"treatment": 50, "control": 50}, "count(events)", population="true"),
                              con, "x", as_of=NOW)
    assert not fair.srm.mismatch
