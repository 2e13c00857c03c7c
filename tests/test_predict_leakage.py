"""The predict plugin's guarantees against leakage: `within next D` only in a model's label (SR435),
a feature that could read after the training time rejected at validate time (PRED101), a label that
reads at or before it rejected (PRED102), and on data: the label counts only the rows in
T < t <= T + D, the features only the rows at or before T (a plain-Python reference)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segrules
import segrules_predict
from segrules.lang import parse_expr, unparse
from segrules_predict.frames import LABEL, frame

T = datetime(2025, 3, 1)

BASE = """\
version: 1
name: leak
entity: {{table: customers, key: customer_id, time: signup_at}}
sources:
  orders: {{table: orders, key: customer_id, time: ordered_at}}
  notes: {{table: notes, key: customer_id}}
features:
  ltv: sum(orders.amount)
  stored: lifetime_value
models:
  m:
    kind: classifier
    label: {label}
    features: [{features}]
    static: [country]
    algorithm: logistic
    train: {{as_of: [2025-01-01, 2025-02-01], test: 2025-03-05, seed: 1}}
segments:
{segments}
schema:
  customers: {{customer_id: int64, signup_at: timestamp, country: string, lifetime_value: float64}}
  orders: {{customer_id: int64, ordered_at: timestamp, amount: float64}}
  notes: {{customer_id: int64, text: string}}
"""


def _registry():
    return segrules.default_registry(plugins=[segrules_predict], load_entrypoints=False)


def _spec(label="count(orders within next 30d) == 0", features="ltv, country",
          segments="  all: {where: 'true'}"):
    return segrules.load_text(BASE.format(label=label, features=features, segments=segments),
                              registry=_registry(), path="leak.yaml")


def _codes(spec):
    return [(d.code, d.span.line if d.span else None, d.message) for d in spec.validate()]


def _errors(spec, prefix=("SR", "PRED1")):
    return [c for c in _codes(spec) if c[0].startswith(prefix)]


def test_predict_within_next_round_trips():
    node = parse_expr("count(orders where amount > 0 within next 30d) == 0")
    assert unparse(node) == "count(orders where amount > 0 within next 30d) == 0"
    assert node.left.window.ahead and not parse_expr("count(orders within 30d)").window.ahead


@pytest.mark.parametrize("text", ["count(o within this 30d)", "count(o within last 7d)"])
def test_predict_within_word_before_duration_is_sr266(text):
    with pytest.raises(segrules.ExprSyntaxError) as info:
        parse_expr(text)
    assert info.value.diagnostics[0].code == "SR266"


def test_predict_label_may_read_after_now():
    assert _errors(_spec()) == []


@pytest.mark.parametrize("segments, line", [
    ("  churned: {where: count(orders within next 30d) == 0}", 19),
    ("  churned: {where: 'sum(orders.amount within next 7d) > 0 and ltv > 1'}", 19),
])
def test_predict_within_next_in_a_segment_is_sr435(segments, line):
    errors = _errors(_spec(segments=segments))
    assert [(c, ln) for c, ln, _ in errors] == [("SR435", line)]
    assert "only a model's label" in errors[0][2]


def test_predict_within_next_in_a_model_feature_is_sr435():
    errors = _errors(_spec(features="ltv, count(orders within next 30d)"))
    assert [(c, ln) for c, ln, _ in errors] == [("SR435", 14)]


def test_predict_within_next_in_a_spec_feature_is_sr435():
    spec = segrules.load_text(BASE.format(label="count(orders within next 30d) == 0", features="ltv",
                                          segments="  all: {where: 'true'}").replace(
        "stored: lifetime_value", "future: count(orders within next 30d)"), registry=_registry(), path="leak.yaml")
    assert [(c, ln) for c, ln, _ in _errors(spec)] == [("SR435", 9)]


def test_predict_within_next_in_a_sequence_of_a_label_is_sr435():
    errors = _errors(_spec(label="sequence(orders then orders within next 30d) > 0"))
    assert "SR435" in [c for c, _, _ in errors]


@pytest.mark.parametrize("features, needle", [
    ("lifetime_value", "customers.lifetime_value"),  # an entity column: today's value
    ("stored", "through feature stored"),  # the same, through a spec feature
    ("count(notes)", "notes, a source without a time column"),
    ("count(orders where amount > entity.lifetime_value)", "customers.lifetime_value"),
])
def test_predict_feature_that_could_read_after_t_is_pred101(features, needle):
    errors = _errors(_spec(features=f"ltv, {features}"))
    assert [(c, ln) for c, ln, _ in errors] == [("PRED101", 14)], errors
    assert needle in errors[0][2]


def test_predict_static_columns_and_entity_time_are_safe():
    assert _errors(_spec(features="ltv, country, days_since(signup_at)")) == []


@pytest.mark.parametrize("label, needle", [
    ("count(orders) == 0", "reads rows at or before T"),
    ("count(orders within next 30d) == 0 and ltv > 10", "is a value as of T"),
    ("count(orders within next 30d) > count(orders within 30d)", "reads rows at or before T"),
])
def test_predict_label_reading_at_or_before_t_is_pred102(label, needle):
    errors = _errors(_spec(label=f"'{label}'"))
    assert [c for c, _, _ in errors] == ["PRED102"]
    assert errors[0][1] == 13 and needle in errors[0][2]


def test_predict_test_time_inside_a_training_label_window_is_pred106():
    spec = segrules.load_text(BASE.format(label="count(orders within next 30d) == 0", features="ltv",
                                          segments="  all: {where: 'true'}").replace("test: 2025-03-05",
                                                                                    "test: 2025-02-15"),
                              registry=_registry(), path="leak.yaml")
    errors = _errors(spec)
    assert [(c, ln) for c, ln, _ in errors] == [("PRED106", 17)]


def test_predict_missing_artifact_is_pred201(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    codes = [(c, ln) for c, ln, _ in _codes(_spec())]
    assert codes == [("PRED201", 11)]


# -- on data: the label sees only T < t <= T + D, the features only t <= T ---------------------------

PREFIX = f"pl{os.getpid()}_"  # parallel runs on one PostgreSQL do not meet


def _data(con, offsets: list[tuple[int, int]]):
    """customers 1..3 signed up long before T; orders at T + offset seconds (tables named PREFIX...)."""
    con.create_table(PREFIX + "customers", pa.table({"customer_id": [1, 2, 3], "signup_at": [T - timedelta(days=400)] * 3,
                                            "country": ["FR", "DE", "FR"], "lifetime_value": [1.0, 2.0, 3.0]}), overwrite=True)
    con.create_table(PREFIX + "orders", pa.table({"customer_id": pa.array([c for c, _ in offsets], pa.int64()),
                                         "ordered_at": pa.array([T + timedelta(seconds=s) for _, s in offsets],
                                                                pa.timestamp("us")),
                                         "amount": pa.array([1.0] * len(offsets), pa.float64())}), overwrite=True)
    con.create_table(PREFIX + "notes", pa.table({"customer_id": pa.array([], pa.int64()),
                                                 "text": pa.array([], pa.string())}), overwrite=True)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def backend(request):
    from rfm_helpers import connect

    con = connect(request.param)
    yield con
    for name in ("customers", "orders", "notes"):
        con.drop_table(PREFIX + name, force=True)
    con.disconnect()


DAY = 86_400
_offsets = st.lists(st.tuples(st.integers(1, 3), st.sampled_from(
    [-31 * DAY, -DAY, -1, 0, 1, DAY, 30 * DAY - 1, 30 * DAY, 30 * DAY + 1, 40 * DAY])
    | st.integers(-40 * DAY, 40 * DAY)), max_size=25)


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(offsets=_offsets)
def test_predict_label_counts_only_the_window_after_t(backend, offsets):
    spec = _spec(label="'count(orders within next 30d)'", features="ltv, count(orders within 30d), {busy: count(orders) > 2}")
    text = spec.document.text.replace("kind: classifier", "kind: regressor")
    for name in ("customers", "orders", "notes"):
        text = text.replace(f"table: {name}", f"table: {PREFIX}{name}")
    spec = segrules.load_text(text, registry=_registry(), path="leak.yaml")
    con = backend
    _data(con, offsets)
    ctx = spec.section_context(con, "models")
    rows = {r["customer_id"]: r for r in frame(ctx, "m", now=T, label=True).to_pyarrow().to_pylist()}
    for customer in (1, 2, 3):
        mine = [s for c, s in offsets if c == customer]
        assert rows[customer][LABEL] == sum(1 for s in mine if 0 < s <= 30 * DAY)  # never at or before T
        assert rows[customer]["ltv"] == sum(1.0 for s in mine if s <= 0)  # never after T
        assert rows[customer]["count_orders_within_30d"] == sum(1 for s in mine if -30 * DAY < s <= 0)
        assert rows[customer]["busy"] == float(sum(1 for s in mine if s <= 0) > 2)  # true/false as 1.0/0.0
