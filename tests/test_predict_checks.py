"""The models: section's checks at their positions: a model's shape (PRED103-107), training that
cannot learn (PRED109) or whose SQL would be too large (PRED110), score()/cluster() on the wrong
kind of model (SR434), an unknown model (SR320)."""

from __future__ import annotations

import ibis
import pytest

import segrules
import segrules_predict
from segrules_predict import demo, train as training

SPEC = """\
version: 1
name: shapes
entity: {{table: customers, key: customer_id, time: signup_at}}
sources:
  orders: {{table: orders, key: customer_id, time: ordered_at}}
models:
  m:
{model}
segments:
{segments}
schema:
  customers: {{customer_id: int64, signup_at: timestamp, country: string, plan: string}}
  orders: {{order_id: int64, customer_id: int64, ordered_at: timestamp, amount: float64}}
"""
CLASSIFIER = """\
    kind: classifier
    label: count(orders within next 30d) == 0
    features: [count(orders within 90d), country]
    static: [country]
    algorithm: logistic
    train: {as_of: [2025-01-01, 2025-02-01], test: 2025-03-05}"""


def _registry():
    return segrules.default_registry(plugins=[segrules_predict], load_entrypoints=False)


def _spec(model=CLASSIFIER, segments="  all: {where: 'true'}"):
    return segrules.load_text(SPEC.format(model=model, segments=segments), registry=_registry(), path="shapes.yaml")


def _errors(spec):
    return [(d.code, d.span.line if d.span else None) for d in spec.validate() if not d.code.startswith("PRED2")]


@pytest.mark.parametrize("model, expected", [
    (CLASSIFIER.replace("    label: count(orders within next 30d) == 0\n", ""), [("PRED103", 7)]),
    (CLASSIFIER.replace("kind: classifier", "kind: clusters").replace("logistic", "kmeans"), [("PRED103", 9)]),
    (CLASSIFIER.replace("algorithm: logistic", "algorithm: kmeans"), [("PRED104", 12)]),
    (CLASSIFIER.replace("kind: classifier", "kind: clusters").replace("    label: count(orders within next 30d) == 0\n",
                                                                     ""), [("PRED104", 11)]),
    (CLASSIFIER.replace(", country]", ", max(orders.ordered_at)]"), [("PRED105", 10)]),
    (CLASSIFIER.replace("static: [country]", "static: [country, colour]"), [("PRED107", 11)]),
])
def test_predict_model_shape_problems_are_positioned(model, expected):
    assert _errors(_spec(model)) == expected


def test_predict_score_of_a_clusters_model_is_sr434():
    model = CLASSIFIER.replace("kind: classifier", "kind: clusters").replace("logistic", "kmeans").replace(
        "    label: count(orders within next 30d) == 0\n", "")
    spec = _spec(model, "  a: {where: score('m') > 0.5}\n  b: {where: cluster('m') == 1}")
    assert _errors(spec) == [("SR434", 14)]
    assert _errors(_spec(segments="  a: {where: cluster('m') == 1}")) == [("SR434", 15)]
    assert _errors(_spec(segments="  a: {where: score('n') > 0.5}")) == [("SR320", 15)]


@pytest.fixture(scope="module")
def churn_db():
    con = ibis.duckdb.connect()
    for name, table in demo.generate("churn", n=600).items():
        con.create_table(name, table)
    yield con
    con.disconnect()


def test_predict_unknown_model_to_train_is_sr320(churn_db, tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(segrules.SpecError) as info:
        training.train(_spec(), churn_db, "nope")
    assert info.value.diagnostics[0].code == "SR320"


def test_predict_a_label_without_both_classes_is_pred109(churn_db, tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    spec = _spec(CLASSIFIER.replace("== 0", ">= 0"))
    with pytest.raises(segrules.SpecError) as info:
        training.train(spec, churn_db, "m", as_of="2025-06-01")
    assert [(d.code, d.span.line) for d in info.value.diagnostics] == [("PRED109", 9)]


def test_predict_a_model_too_large_for_sql_is_pred110(churn_db, tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    model = CLASSIFIER.replace("algorithm: logistic", "algorithm: random_forest\n    params: {n_estimators: 501, "
                                                      "max_depth: 2}")
    with pytest.raises(segrules.SpecError) as info:
        training.train(_spec(model), churn_db, "m", as_of="2025-06-01")
    d = info.value.diagnostics[0]
    assert (d.code, d.span.line) == ("PRED110", 12) and "too large" in d.message


REGRESSOR = """\
    kind: regressor
    label: sum(orders.amount within next 30d)
    features: [count(orders within 90d), sum(orders.amount within 90d), country]
    static: [country]
    algorithm: random_forest
    params: {n_estimators: 20, max_depth: 4}
    train: {as_of: [2025-01-01, 2025-02-01], test: 2025-03-05, seed: 2}"""


def test_predict_regressor_trains_and_scores_its_value(churn_db, tmp_path, monkeypatch):
    pytest.importorskip("sklearn")
    monkeypatch.chdir(tmp_path)
    spec = _spec(REGRESSOR, "  big_spenders: {where: score('m') > 100}")
    trained = training.train(spec, churn_db, "m", as_of="2025-06-01")
    m = trained.artifact["metrics"]
    assert m["r2"] > 0.1 and m["mae"] > 0 and m["importance"]
    assert trained.artifact["parity"]["max_difference"] <= 1e-6
    rows = spec.evaluate(churn_db, as_of="2025-06-01").to_pyarrow().to_pylist()
    assert 0 < sum(r["big_spenders"] for r in rows) < len(rows)
