"""plugins/segrules_predict scoring: a fitted pipeline, exported to JSON, scored in SQL on DuckDB and
PostgreSQL, equals scikit-learn (parity.check_parity); size limits; what needs no scikit-learn."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")

from rfm_helpers import BACKENDS, connect  # noqa: E402
from segrules_predict.parity import check_parity  # noqa: E402
from segrules_predict.pipeline import build_pipeline  # noqa: E402
from segrules_predict.portable import FORMAT, export  # noqa: E402
from segrules_predict.scoring import MAX_SIZE, MAX_TREES, ModelTooLarge, ScoringError, size, to_ibis  # noqa: E402

ALGORITHMS = [("logistic", "classifier"), ("random_forest", "classifier"), ("gradient_boosting", "classifier"),
              ("logistic", "regressor"), ("random_forest", "regressor"), ("gradient_boosting", "regressor"),
              ("kmeans", "clusters")]


@pytest.fixture(scope="module", params=BACKENDS)
def con(request):
    backend = connect(request.param)
    yield backend
    backend.disconnect()


def shop(n: int = 600, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"ltv": rng.normal(100, 30, n), "orders": rng.integers(0, 10, n).astype(float),
                          "country": rng.choice(["DE", "FR", "US", None], n)})
    frame.loc[rng.random(n) < 0.1, "ltv"] = np.nan
    signal = frame.ltv.fillna(100) / 30 + frame.orders / 3 + (frame.country == "DE") + rng.normal(0, 1, n)
    return frame, signal > 5


# smaller than the defaults: the SQL of 50 trees of depth 6 takes seconds to generate
SMALL = {"random_forest": {"n_estimators": 12, "max_depth": 5}, "gradient_boosting": {"n_estimators": 30}}


def fitted(algorithm: str, kind: str, frame: pd.DataFrame, label: pd.Series, params: dict | None = None):
    params = SMALL.get(algorithm, {}) if params is None else params
    pipeline = build_pipeline(["ltv", "orders"], ["country"], algorithm, params, 7, kind=kind)
    target = {"classifier": label, "regressor": frame.orders * 2.5 + label, "clusters": None}[kind]
    pipeline.fit(frame, target)
    return pipeline, json.loads(json.dumps(export(pipeline)))


@pytest.mark.parametrize("algorithm, kind", ALGORITHMS)
def test_predict_scoring_equals_sklearn_with_nulls_and_unknown_categories(con, algorithm, kind):
    frame, label = shop()
    pipeline, model = fitted(algorithm, kind, frame, label)
    assert model["format"] == FORMAT
    scored = frame.copy()
    scored.loc[:20, "country"] = "never seen"
    scored.loc[20:40, "ltv"] = None
    scored.loc[40:50, ["ltv", "orders", "country"]] = None
    parity = check_parity(pipeline, model, scored, con)
    assert parity.ok, parity.message()
    assert parity.rows == len(scored) and parity.mismatches == 0


def test_predict_scoring_logistic_score_is_the_positive_class_probability(duckdb_con):
    import ibis

    frame, label = shop()
    pipeline, model = fitted("logistic", "classifier", frame, label)
    table = ibis.memtable(frame)
    columns = {name: table[name] for name in ("ltv", "orders", "country")}
    got = duckdb_con.execute(table.select(s=to_ibis(model, columns, "score"), l=to_ibis(model, columns, "label")))
    assert model["classes"] == [False, True]
    np.testing.assert_allclose(got["s"], pipeline.predict_proba(frame)[:, 1], atol=1e-12)
    assert got["l"].tolist() == pipeline.predict(frame).tolist()
    assert 0.2 < got["l"].mean() < 0.8  # both classes occur: the comparison can fail


def test_predict_scoring_rejects_an_output_the_kind_has_not():
    frame, label = shop()
    _, model = fitted("logistic", "classifier", frame, label)
    with pytest.raises(ScoringError, match="a classifier has no 'cluster'; it has score, label"):
        to_ibis(model, {}, "cluster")
    with pytest.raises(ScoringError, match="no column for the feature"):
        to_ibis(model, {}, "score")
    with pytest.raises(ScoringError, match="version"):
        to_ibis({**model, "version": 99}, {}, "score")


def test_predict_scoring_refuses_a_model_too_large():
    frame, label = shop()
    _, model = fitted("gradient_boosting", "classifier", frame, label, {"n_estimators": 10, "max_depth": 5})
    body = model["model"]
    assert size(model) == sum(len(t["feature"]) for t in body["trees"]) <= MAX_SIZE
    to_ibis(model, _columns(), "score")  # within the limit
    copies = MAX_SIZE // size(model) + 1
    large = {**model, "model": {**body, "trees": body["trees"] * copies}}
    assert size(large) > MAX_SIZE
    with pytest.raises(ModelTooLarge, match="too large to score in SQL: size .* use fewer or shallower trees") as error:
        to_ibis(large, _columns(), "score")
    assert error.value.size == size(large)
    stump = {**body["trees"][0], "feature": [-1], "threshold": [0.0], "left": [-1], "right": [-1], "value": [0.5]}
    many = {**model, "model": {**body, "trees": [stump] * (MAX_TREES + 1)}}
    with pytest.raises(ModelTooLarge, match=f"{MAX_TREES + 1} trees \\(at most {MAX_TREES}\\)"):
        to_ibis(many, _columns(), "score")


def _columns():
    import ibis

    table = ibis.table({"ltv": "float64", "orders": "float64", "country": "string"}, name="customers")
    return {name: table[name] for name in ("ltv", "orders", "country")}


def test_predict_scoring_needs_no_sklearn(tmp_path):
    """Scoring imports neither scikit-learn nor scipy: the base install can score."""
    frame, label = shop()
    _, model = fitted("gradient_boosting", "classifier", frame, label)
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model))
    code = (f"import sys, json, ibis; sys.modules['sklearn'] = None; sys.modules['scipy'] = None\n"
            f"from segrules_predict.scoring import to_ibis\n"
            f"t = ibis.memtable({{'ltv': [1.0, None], 'orders': [2.0, 3.0], 'country': ['DE', None]}})\n"
            f"m = json.loads(open({str(path)!r}).read())\n"
            f"print(ibis.duckdb.connect().execute(t.select(s=to_ibis(m, t, 'score')))['s'].round(6).tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("[0.") and len(json.loads(out.stdout)) == 2


@pytest.mark.parametrize("algorithm", ["gradient_boosting", "logistic"])
def test_predict_scoring_integer_boolean_and_integer_category_columns(con, algorithm):
    """Columns as the database has them: an integer feature (splits compare it with an integer cut),
    a boolean one (PostgreSQL casts no boolean to double), an integer used as a category."""
    import ibis

    rng = np.random.default_rng(4)
    n = 400
    frame = pd.DataFrame({"orders": rng.integers(0, 30, n).astype(float), "vip": rng.random(n) < 0.3,
                          "tier": rng.integers(1, 4, n)})
    frame.loc[::17, "orders"] = np.nan
    label = (frame.orders.fillna(15) + 8 * frame.vip + rng.normal(0, 4, n)) > 18
    pipeline = build_pipeline(["orders", "vip"], ["tier"], algorithm, SMALL.get(algorithm, {}), 1)
    pipeline.fit(frame.assign(vip=frame.vip.astype(float)), label)
    model = json.loads(json.dumps(export(pipeline)))
    assert model["categorical"][0]["categories"] == ["1", "2", "3"]
    schema = ibis.schema({"orders": "int64", "vip": "boolean", "tier": "int64"})
    table = ibis.memtable(pd.DataFrame({"orders": frame.orders.astype("Int64"), "vip": frame.vip,
                                        "tier": frame.tier}), schema=schema)
    got = con.execute(table.select(s=to_ibis(model, table, "score"), l=to_ibis(model, table, "label")))
    expected = pipeline.predict_proba(frame.assign(vip=frame.vip.astype(float)))[:, 1]
    np.testing.assert_allclose(got["s"].to_numpy(float), expected, atol=1e-9)
    assert got["l"].tolist() == pipeline.predict(frame.assign(vip=frame.vip.astype(float))).tolist()


def test_predict_scoring_export_refuses_what_sql_cannot_score():
    from sklearn.linear_model import LogisticRegression

    from segrules_predict.portable import ExportError

    frame, label = shop()
    with pytest.raises(ExportError, match="not a fitted segrules pipeline"):
        export(LogisticRegression().fit(frame[["orders"]], label))
    three = pd.Series(np.where(label, "high", np.where(frame.orders > 5, "mid", "low")))
    pipeline = build_pipeline(["ltv", "orders"], ["country"], "logistic", {}, 7).fit(frame, three)
    with pytest.raises(ExportError, match="exactly two classes, the label has 3"):
        export(pipeline)
    with pytest.raises(ValueError, match="algorithm 'kmeans' does not fit a classifier"):
        build_pipeline(["ltv"], [], "kmeans", {}, 7)


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "snowflake", "bigquery", "trino"])
def test_predict_scoring_trees_compile_for_any_sql_dialect(dialect):
    """The tree ensemble is one Ibis operation (treesql.TreeSum) with a compile rule on the base of
    every Ibis SQL compiler: each split is a CASE, each leaf its exact binary64 text."""
    import ibis

    frame, label = shop()
    _, model = fitted("gradient_boosting", "classifier", frame, label, {"n_estimators": 4, "max_depth": 2})
    sql = ibis.to_sql(ibis.table({"ltv": "float64", "orders": "float64", "country": "string"}, name="customers")
                      .pipe(lambda t: t.select(s=to_ibis(model, t, "score") * 2)), dialect=dialect)
    trees = model["model"]["trees"]
    splits = sum(1 for tree in trees for left in tree["left"] if left != -1)
    leaves = {repr(model["model"]["learning_rate"] * value) for tree in trees
              for left, value in zip(tree["left"], tree["value"]) if left == -1}
    assert sql.count("CASE") == splits > 0
    assert all(f"'{leaf}'" in sql for leaf in leaves)
