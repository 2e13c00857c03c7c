"""Training on the generated data with a planted signal (segrules_predict.demo): the AUC is well
above chance, and a model trained on shuffled labels is not; artifacts are versioned and checked
by validate; scores run inside the one query on DuckDB and PostgreSQL alike."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import ibis
import pytest

import segrules
import segrules_predict
from segrules_predict import demo, train as training
from segrules_predict.frames import LABEL

pytest.importorskip("sklearn")

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "segment_specs"


def _registry():
    return segrules.default_registry(plugins=[segrules_predict], load_entrypoints=False)


def _project(tmp: Path, kind: str, spec: str, n: int):
    """A folder with the spec (its own models/ folder) and a DuckDB of ``n`` generated entities."""
    shutil.copy(SPECS / spec, tmp / spec)
    demo.write(kind, tmp / f"{kind}.duckdb", n=n)
    # read-only, as the command line opens it (one process may hold both then)
    return segrules.load(tmp / spec, registry=_registry()), segrules.connect(str(tmp / f"{kind}.duckdb"), read_only=True)


def _trained(tmp_path_factory, kind: str, spec_file: str, n: int, model: str):
    tmp = tmp_path_factory.mktemp(kind)
    spec, con = _project(tmp, kind, spec_file, n)
    return tmp, spec, con, training.train(spec, con, model)


@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    found = _trained(tmp_path_factory, "churn", "churn_30d.yaml", 1500, "churn_30d")
    yield found
    found[2].disconnect()


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    found = _trained(tmp_path_factory, "trial", "trial_conversion.yaml", 3000, "converts")
    yield found
    found[2].disconnect()


def _shuffled(monkeypatch, seed=3):
    """Training frames with their labels shuffled (the test time's frame keeps its labels)."""
    original = training._frames

    def frames(ctx, name, times, label, log):
        df = original(ctx, name, times, label, log)
        model = ctx.config[name]
        if label and times != [model.train.test_time]:
            df[LABEL] = df[LABEL].sample(frac=1.0, random_state=seed).to_numpy()
        return df

    monkeypatch.setattr(training, "_frames", frames)


def test_predict_churn_auc_is_well_above_chance(churn):
    _, _, _, trained = churn
    m = trained.artifact["metrics"]
    assert m["evaluated_on"] == "test" and m["auc_roc"] > 0.75, m["auc_roc"]
    assert [t["segment"] for t in m["tiers"]] == ["churn_high", "churn_medium"]
    assert [t["threshold"] for t in m["tiers"]] == [0.8, 0.5]
    assert m["importance"][0]["feature"] == "count_events_within_14d"  # the planted signal leads


def test_predict_churn_on_shuffled_labels_is_near_chance(churn, monkeypatch):
    tmp, spec, con, _ = churn
    _shuffled(monkeypatch)
    shuffled = training.train(spec, con, "churn_30d")
    assert abs(shuffled.artifact["metrics"]["auc_roc"] - 0.5) < 0.08, shuffled.artifact["metrics"]["auc_roc"]


def test_predict_trial_auc_is_well_above_chance_and_shuffled_is_not(trial, monkeypatch):
    _, spec, con, trained = trial
    assert trained.artifact["metrics"]["auc_roc"] > 0.75
    top = {r["feature"] for r in trained.artifact["metrics"]["importance"][:2]}
    assert top == {"logins_first_3d", "core_features_used"}
    _shuffled(monkeypatch)
    shuffled = training.train(spec, con, "converts")
    assert abs(shuffled.artifact["metrics"]["auc_roc"] - 0.5) < 0.12


def test_predict_artifact_holds_model_features_metrics_hash_and_times(churn):
    tmp, spec, _, trained = churn
    a = json.loads(trained.path.read_text())
    assert trained.path.parent == tmp / "models" / "churn_30d" / "churn_30d"
    assert {"model", "features", "metrics", "spec_hash", "training_times", "test_time", "parity"} <= set(a)
    assert a["training_times"] == ["2025-01-01 00:00:00", "2025-02-01 00:00:00", "2025-03-01 00:00:00"]
    assert a["parity"]["mismatches"] == 0 and a["parity"]["max_difference"] <= 1e-6
    assert [f["name"] for f in a["features"]] == ["ltv", "orders_90d", "days_since_last_order_at",
                                                  "count_events_within_14d", "country"]
    card = trained.card.read_text()
    assert "AUC-ROC" in card and "<script" not in card and "http" not in card  # offline


def test_predict_scores_run_in_one_query_and_match_the_tiers(churn):
    tmp, spec, con, _ = churn
    training.train(spec, con, "engagement")
    wide = spec.evaluate(con, as_of="2025-06-01").to_pyarrow().to_pylist()
    high = sum(r["churn_high"] for r in wide)
    medium = sum(r["churn_medium"] for r in wide)
    assert 0 < high < len(wide) and 0 < medium < len(wide)
    assert not any(r["churn_high"] and r["churn_medium"] for r in wide)  # > 0.8 vs between 0.5 and 0.8
    sql = spec.to_sql("duckdb", con=con, as_of="2025-06-01")
    assert sql.count("SELECT") >= 1 and "CASE" in sql  # the trees, inside the query


def test_predict_scores_are_equal_on_duckdb_and_postgres(churn):
    from rfm_helpers import connect

    tmp, spec, con, _ = churn
    pg = connect("postgres")
    prefix = f"pt{os.getpid()}_"
    try:
        text = spec.document.text
        for name in ("customers", "orders", "events"):
            pg.create_table(prefix + name, con.table(name).to_pyarrow(), overwrite=True)
            text = text.replace(f"table: {name}", f"table: {prefix}{name}")
        path = tmp / "churn_30d_pg.yaml"
        path.write_text(text)  # the same spec over other tables: the same artifacts (the hash has no table names)
        pg_spec = segrules.load(path, registry=_registry())
        on_pg = {r["customer_id"]: r for r in pg_spec.evaluate(pg, as_of="2025-06-01").to_pyarrow().to_pylist()}
        on_duck = {r["customer_id"]: r for r in spec.evaluate(con, as_of="2025-06-01").to_pyarrow().to_pylist()}
        # memberships exactly; numbers to 1e-12 (a sum of doubles depends on the order it is added in)
        assert on_pg.keys() == on_duck.keys()
        assert on_pg == {k: {c: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for c, v in row.items()}
                         for k, row in on_duck.items()}
    finally:
        for name in ("customers", "orders", "events"):
            pg.drop_table(prefix + name, force=True)
        pg.disconnect()


def test_predict_retraining_writes_the_next_version(churn):
    tmp, spec, con, trained = churn
    again = training.train(spec, con, "churn_30d")
    assert int(again.path.stem[1:]) > int(trained.path.stem[1:])
    assert again.artifact["model"] == json.loads(trained.path.read_text())["model"]  # same data, same model


def test_predict_validate_fails_on_a_spec_changed_since_training(churn):
    tmp, spec, con, _ = churn
    changed = tmp / "churn_30d.yaml"
    text = changed.read_text()
    changed.write_text(text.replace("orders_90d: count(orders within 90d)", "orders_90d: count(orders within 60d)"))
    try:
        diags = segrules.load(changed, registry=_registry()).validate(con)
        # both models read orders_90d
        assert [(d.code, d.span.line) for d in diags] == [("PRED202", 17), ("PRED202", 25)]
        with pytest.raises(segrules.SegrulesError, match="trained on a different spec"):
            segrules.load(changed, registry=_registry()).evaluate(con, as_of="2025-06-01").to_pyarrow()
    finally:
        changed.write_text(text)
    assert [d.code for d in segrules.load(changed, registry=_registry()).validate(con)] == []


def test_predict_unreadable_artifact_is_pred203(churn, tmp_path):
    tmp, spec, con, _ = churn
    shutil.copy(tmp / "churn_30d.yaml", tmp_path / "churn_30d.yaml")
    shutil.copytree(tmp / "models", tmp_path / "models")
    folder = tmp_path / "models" / "churn_30d" / "churn_30d"
    latest = max(folder.glob("v*.json"), key=lambda p: int(p.stem[1:]))
    latest.write_text("{not json")
    diags = segrules.load(tmp_path / "churn_30d.yaml", registry=_registry()).validate(con)
    assert [d.code for d in diags] == ["PRED203"]


def test_predict_label_windows_must_have_ended_pred108(churn):
    tmp, spec, con, _ = churn
    with pytest.raises(segrules.SpecError) as info:
        training.train(spec, con, "churn_30d", as_of="2025-04-15")
    assert [(d.code, d.span.line) for d in info.value.diagnostics] == [("PRED108", 24)]


def test_predict_clusters_k_by_silhouette_and_the_profile_command(churn):
    from click.testing import CliRunner

    from segrules.cli import main

    tmp, spec, con, _ = churn
    path = tmp / "churn_30d.yaml"
    text = path.read_text()
    path.write_text(text.replace("    k: 4\n", "    max_k: 5\n"))
    try:
        auto = segrules.load(path, registry=_registry())
        trained = training.train(auto, con, "engagement")
        m = trained.artifact["metrics"]
        by_k = {row["k"]: row["silhouette"] for row in m["silhouette_by_k"]}
        assert sorted(by_k) == [2, 3, 4, 5] and m["k"] == max(by_k, key=by_k.get)
        sizes = [p["size"] for p in m["profiles"]]
        assert len(sizes) == m["k"]
        result = CliRunner().invoke(main, ["clusters", str(path), "--model", "engagement", "--db", str(tmp / "churn.duckdb"),
                                           "--as-of", "2025-06-01", "--format", "json"])
    finally:
        path.write_text(text)
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert len(report["profiles"]) == m["k"] and sum(p["size"] for p in report["profiles"]) == report["entities"]
    means = {p["cluster"]: p["means"]["ltv"] for p in report["profiles"]}
    # the profile is computed in the database: check one mean against the rows
    wide = auto.evaluate(con, as_of="2025-06-01", segments=[], features=["ltv"]).to_pyarrow().to_pylist()
    assert abs(sum(r["ltv"] for r in wide) / len(wide)
               - sum(means[p["cluster"]] * p["size"] for p in report["profiles"]) / report["entities"]) < 1e-6


def test_predict_train_command_exits_2_on_leakage(churn, tmp_path):
    from click.testing import CliRunner

    from segrules.cli import main

    spec = tmp_path / "leaky.yaml"
    spec.write_text((SPECS / "churn_30d.yaml").read_text().replace("static: [country]", "static: []"))
    # the form before --model: SPEC MODEL, with a deprecation warning
    result = CliRunner().invoke(main, ["train", str(spec), "churn_30d", "--db", str(churn[0] / "churn.duckdb")])
    assert result.exit_code == 2
    assert "warning: `segrules train SPEC NAME` is deprecated" in result.output
    assert "error[PRED101]: models.churn_30d: feature 'country' could read after the training time" in result.output
    assert not (tmp_path / "models").exists()


PROJECT = """\
version: 1
specs: [churn_30d.yaml, trial_conversion.yaml]
target: shop
targets:
  shop: {db: churn.duckdb, as_of: 2025-06-01}
"""


def test_predict_train_and_clusters_commands_select_through_the_project(churn, tmp_path, monkeypatch):
    """No spec argument: the project's specs, each on its target's database and as_of:; the spec
    without a clusters model is skipped with a note; --model picks the model; --select a spec.
    (About 10 s under load: it trains the k-means model through the command it tests.)"""
    from click.testing import CliRunner

    from segrules.cli import main

    shutil.copy(SPECS / "churn_30d.yaml", tmp_path / "churn_30d.yaml")
    shutil.copy(SPECS / "trial_conversion.yaml", tmp_path / "trial_conversion.yaml")
    shutil.copy(churn[0] / "churn.duckdb", tmp_path / "churn.duckdb")
    (tmp_path / "segrules.yml").write_text(PROJECT)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    trained = runner.invoke(main, ["train", "--select", "spec:churn_30d", "--model", "engagement", "--quiet"])
    assert trained.exit_code == 0, trained.output
    assert trained.stdout.startswith("saved models/churn_30d/engagement/v1.json (model card v1.html)\nk = 4")
    profiled = runner.invoke(main, ["clusters", "--format", "json"])
    assert profiled.exit_code == 0, profiled.output
    assert "trial_conversion.yaml: skipped, no clusters model under models:" in profiled.stderr
    report = json.loads(profiled.stdout)  # one model: one document
    assert (report["model"], report["as_of"]) == ("engagement", "2025-06-01 00:00:00")
    assert sum(p["size"] for p in report["profiles"]) == report["entities"] > 0
    unknown = runner.invoke(main, ["clusters", "--model", "churn_30d"])  # a classifier, not clusters
    assert unknown.exit_code == 2
    assert "churn_30d.yaml: skipped, no clusters model 'churn_30d'" in unknown.stderr
    assert "error[SR164]: clusters: no spec to work on" in unknown.stderr


def test_predict_demo_command_writes_the_tables(tmp_path):
    from click.testing import CliRunner

    from segrules.cli import main

    result = CliRunner().invoke(main, ["predict-demo", "trial", str(tmp_path / "t.duckdb"), "--seed", "3"])
    assert result.exit_code == 0, result.output
    con = ibis.duckdb.connect(str(tmp_path / "t.duckdb"))
    assert set(con.list_tables()) == {"accounts", "events", "subscriptions"}
    assert con.table("accounts").count().execute() == 3000


def test_predict_scoring_needs_no_scikit_learn(tmp_path):
    """`segrules run` scores with the repository's committed artifacts in a process where
    scikit-learn cannot be imported (the base install has no predict extra)."""
    import subprocess
    import sys

    demo.write("churn", tmp_path / "churn.duckdb", n=300)
    script = (
        "import sys; sys.modules['sklearn'] = None\n"
        "import segrules\n"
        f"spec = segrules.load({str(SPECS / 'churn_30d.yaml')!r})\n"
        f"con = segrules.connect({str(tmp_path / 'churn.duckdb')!r}, read_only=True)\n"
        "assert [d.code for d in spec.validate(con)] == []\n"
        "rows = spec.evaluate(con, as_of='2025-06-01').to_pyarrow().to_pylist()\n"
        "print(len(rows), sum(r['churn_high'] for r in rows), 'sklearn' in sys.modules and sys.modules['sklearn'])\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    rows, high, loaded = done.stdout.split()
    assert rows == "300" and 0 < int(high) < 300 and loaded == "None"


def test_predict_score_in_the_run_equals_scikit_learn_on_the_same_rows(churn):
    """score('churn_30d') from the spec's one query vs the fitted pipeline's predict_proba on the
    frame the engine computes as of the same time: the wiring of features, kinds and casts."""
    from segrules_predict.frames import frame

    tmp, spec, con, trained = churn
    path = tmp / "churn_30d.yaml"
    text = path.read_text()
    path.write_text(text.replace("features:\n", "features:\n  churn_score: score('churn_30d')\n", 1))
    try:
        scored = segrules.load(path, registry=_registry())
        # a feature the model does not read keeps its hash (the other tests leave engagement as they will)
        assert [d for d in scored.validate(con) if "models.churn_30d:" in d.message
                or not d.code.startswith("PRED2")] == []
        wide = scored.evaluate(con, as_of="2025-06-01", segments=[], features=["churn_score"]).to_pandas()
    finally:
        path.write_text(text)
    ctx = spec.section_context(con, "models", as_of="2025-06-01")
    rows = frame(ctx, "churn_30d").order_by("customer_id").to_pandas()
    columns = [f["name"] for f in trained.artifact["features"]]
    expected = dict(zip(rows["customer_id"], trained.pipeline.predict_proba(rows[columns])[:, 1]))
    got = dict(zip(wide["customer_id"], wide["churn_score"]))
    assert got.keys() == expected.keys()
    assert max(abs(got[k] - expected[k]) for k in got) <= 1e-6
