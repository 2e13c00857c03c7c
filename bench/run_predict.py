"""Scoring customers with a trained model: inside the database (the model compiled to one Ibis
expression by ``segrules_predict.scoring.to_ibis``, the scores materialised in a table) against
pulling the feature rows into Python and calling scikit-learn's ``predict_proba`` (``predict``
for k-means), in the same run, per algorithm.

Set-up (not measured, cached in ``--data``): a DuckDB table ``customers`` with ``--customers`` rows
(id, ltv, orders_90d, days_since, events_14d, country; 5% nulls in ltv and country), generated in
DuckDB; a churn label planted on a sample of ``--sample`` rows, and one model per algorithm
trained on it with ``segrules_predict.pipeline.build_pipeline`` (logistic regression, gradient
boosting 100 trees of depth 3, random forest 50 trees of depth 6, k-means k=5), saved as the
portable JSON (for the database) and pickled (for Python).

Measured, each run in a fresh process, round-robin over ``--repeat`` runs (bench/harness.py):

* ``sql:ALG``: connect, read the JSON, build the expression, ``CREATE TEMP TABLE scores AS SELECT
  id, score`` (the cluster for k-means), count the customers with a score above 0.8;
* ``python:ALG``: connect, unpickle, fetch the five feature columns to pandas, ``predict_proba``,
  the same count.

Both variants must count the same customers (per cluster for k-means), or the script fails.
Target: sql <= 1x python for logistic and gradient_boosting.

    python bench/run_predict.py --customers 1000000 --repeat 3
    python bench/run_predict.py --customers 10000000 --repeat 1 --algorithms logistic,gradient_boosting
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "plugins"))

import harness  # noqa: E402

NUMERIC = ["ltv", "orders_90d", "days_since", "events_14d"]
CATEGORICAL = ["country"]
ALGORITHMS = {"logistic": ("classifier", {}),
              "gradient_boosting": ("classifier", {"n_estimators": 100, "max_depth": 3}),
              "random_forest": ("classifier", {"n_estimators": 50, "max_depth": 6}),
              "kmeans": ("clusters", {"n_clusters": 5})}
TIER = 0.8


def generate(con, customers: int, seed: int) -> dict:
    con.execute(f"SELECT setseed({(seed % 1000) / 1000})")
    con.execute(f"""
        CREATE TABLE customers AS
        SELECT i AS id,
               CASE WHEN random() < 0.05 THEN NULL ELSE round(exp(random() * 8), 2) END AS ltv,
               floor(random() * random() * 30)::BIGINT AS orders_90d,
               floor(random() * 365)::DOUBLE AS days_since,
               floor(random() * 60)::BIGINT AS events_14d,
               CASE WHEN random() < 0.05 THEN NULL
                    ELSE ['DE', 'FR', 'US', 'GB', 'NL', 'ES', 'IT'][1 + floor(random() * 7)::INT] END AS country
        FROM range({customers}) t(i)""")
    return {"customers": customers}


def train(db: Path, folder: Path, sample: int, seed: int) -> None:
    import ibis
    import numpy as np

    from segrules_predict.parity import check_parity
    from segrules_predict.pipeline import build_pipeline
    from segrules_predict.portable import export

    done = folder / "done"
    if done.exists() and done.read_text() == f"{sample} {seed}":
        return
    done.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    con = ibis.duckdb.connect(str(db), read_only=True)
    frame = con.execute(con.table("customers").order_by("id").limit(sample))
    rng = np.random.default_rng(seed)
    # churn planted: few recent orders, long since the last, low engagement, one country
    signal = (-0.15 * frame.orders_90d.astype(float) + frame.days_since / 90 - frame.events_14d / 30
              + np.log1p(frame.ltv.fillna(frame.ltv.median())) * -0.2 + (frame.country == "FR") * 0.8
              + rng.normal(0, 1, len(frame)))
    label = signal > np.quantile(signal, 0.6)
    for algorithm, (kind, params) in ALGORITHMS.items():
        pipeline = build_pipeline(NUMERIC, CATEGORICAL, algorithm, params, seed, kind=kind)
        pipeline.fit(frame, None if kind == "clusters" else label)
        model = export(pipeline)
        check_parity(pipeline, model, frame.head(2000), con).raise_for_failure()
        (folder / f"{algorithm}.json").write_text(json.dumps(model))
        (folder / f"{algorithm}.pickle").write_bytes(pickle.dumps(pipeline))
    con.disconnect()
    done.write_text(f"{sample} {seed}")


def models_folder(db: Path) -> Path:
    """The trained models beside the data (retrained when --sample or --seed change)."""
    return db.with_name(f"{db.stem}_models")


def worker(variant: str, db: str, threads: str) -> None:
    import ibis

    route, algorithm = variant.split(":")
    folder = models_folder(Path(db))
    # set-up, not measured: imports (scikit-learn's take seconds) and connecting
    if route == "sql":
        from segrules_predict.scoring import to_ibis
    else:
        import numpy as np
        import segrules_predict.pipeline  # noqa: F401  (what the pickle refers to)
        import sklearn.cluster, sklearn.compose, sklearn.ensemble, sklearn.linear_model  # noqa: F401, E401
    con = ibis.duckdb.connect(db, threads=int(threads))
    customers = con.table("customers")
    started, cpu_started = time.perf_counter(), time.process_time()
    if route == "sql":
        model = json.loads((folder / f"{algorithm}.json").read_text())
        output = "cluster" if model["kind"] == "clusters" else "score"
        expression = to_ibis(model, {name: customers[name] for name in NUMERIC + CATEGORICAL}, output)
        built = time.perf_counter()
        con.create_table("scores", customers.select("id", s=expression), temp=True)
        scores = con.table("scores")
        if output == "cluster":
            rows = con.execute(scores.group_by("s").agg(n=scores.count()))
            counts = {f"cluster_{int(k)}": int(v) for k, v in zip(rows["s"], rows["n"])}
        else:
            counts = {"above_tier": int(con.execute(scores.filter(scores.s > TIER).count()))}
        # to_ibis: the model read and compiled to an Ibis expression; score: Ibis -> SQL, DuckDB plans and runs it
        phases = {"to_ibis": built - started, "score": time.perf_counter() - built}
    else:
        pipeline = pickle.loads((folder / f"{algorithm}.pickle").read_bytes())
        loaded = time.perf_counter()
        frame = con.execute(customers.select(*NUMERIC, *CATEGORICAL))
        fetched = time.perf_counter()
        if algorithm == "kmeans":
            clusters = pipeline.predict(frame)
            values, n = np.unique(clusters, return_counts=True)
            counts = {f"cluster_{int(k)}": int(v) for k, v in zip(values, n)}
        else:
            counts = {"above_tier": int((pipeline.predict_proba(frame)[:, 1] > TIER).sum())}
        phases = {"load": loaded - started, "fetch": fetched - loaded,
                  "predict": time.perf_counter() - fetched}
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({"variant": variant, "times": [seconds], "median": seconds, "cpu_times": [cpu], "cpu": cpu,
                      "phases": phases, "peak_rss_mib": harness.peak_rss_mib(), "counts": counts}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=20_000, help="training rows (default 20000)")
    parser.add_argument("--algorithms", default=",".join(ALGORITHMS))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2)")
    parser.add_argument("--data", type=Path, default=BENCH / "data")
    args = parser.parse_args()
    algorithms = args.algorithms.split(",")
    unknown = set(algorithms) - set(ALGORITHMS)
    if unknown:
        parser.error(f"unknown algorithm(s) {', '.join(sorted(unknown))}; expected {', '.join(ALGORITHMS)}")
    db = harness.build_database(args.data / f"predict_c{args.customers}_s{args.seed}.duckdb",
                                lambda con: generate(con, args.customers, args.seed))
    started = time.perf_counter()
    train(db, models_folder(db), min(args.sample, args.customers), args.seed)
    print(f"models: {models_folder(db)} ({time.perf_counter() - started:.0f} s, not measured)")
    print(harness.machine_line())
    variants = [f"{route}:{a}" for a in algorithms for route in ("sql", "python")]
    results = harness.measure(variants, db, datetime(2026, 1, 1), args.repeat, args.threads,
                              script=Path(__file__).resolve())
    failed = False
    for algorithm in algorithms:
        pair = [r for r in results if r["variant"].endswith(f":{algorithm}")]
        harness.print_results(pair, f"python:{algorithm}")
        good = [r for r in pair if "error" not in r]
        if len(good) != 2 or good[0]["counts"] != good[1]["counts"]:
            failed = True
            print(f"MISMATCH or failure for {algorithm}: " + "; ".join(
                f"{r['variant']}: {r.get('counts', r.get('error'))}" for r in pair))
        else:
            print(f"{algorithm}: both count {good[0]['counts']}")
    print(harness.machine_line())
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2], sys.argv[3], sys.argv[5])
    else:
        main()
