"""RFM benchmark: the rfm.* values of segrules (Ibis on DuckDB) vs the same RFM in pandas, and vs
the best hand-written DuckDB query (bench/handwritten_rfm.sql) as the ceiling of what DuckDB does.

    nice python bench/run_rfm.py --customers 1000000 --orders-per-customer 20 --repeat 1

The spec is the ``rfm:`` block of segment_specs/ecommerce.yaml (paid orders of the last 365 days,
quantile scores over 5 bins, the default label map). Every variant computes every value for every
customer and reports the customers per label and per score; the script fails if they differ.
Imports and connecting are set-up, not timed (as in bench/variants.py).
Every run is a fresh process (peak RSS per variant), round-robin, on the same cached demo data.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import harness

SPEC = harness.BENCH.parent / "segment_specs" / "ecommerce.yaml"
ALL = ["segrules", "fused_sql", "pandas"]


def _summary(labels, scores) -> dict[str, int]:
    counts = {f"label {k}": int(v) for k, v in labels.items()}
    counts.update({f"score {k}": int(v) for k, v in scores.items()})
    return counts


def run_segrules(db: str, now: datetime, threads: int):
    """Load the spec, then every rfm.* value of every customer to Arrow, then the counts."""
    import ibis
    import ibis.backends.duckdb.converter  # noqa: F401  imported by Ibis on the first to_pyarrow
    import pyarrow.compute  # noqa: F401

    segrules = harness.import_segrules()

    con = ibis.duckdb.connect(db, read_only=True, threads=threads)

    def run():
        started = time.perf_counter()
        spec = segrules.load(SPEC)
        expr = spec.namespace(con, "rfm", as_of=now)
        compiled = time.perf_counter()
        table = expr.to_pyarrow()
        executed = time.perf_counter()
        return _arrow_counts(table), {"check + compile": compiled - started, "execute": executed - compiled}
    return run


def _arrow_counts(table) -> dict[str, int]:
    import pyarrow.compute as pc

    labels = {r["values"]: r["counts"] for r in pc.value_counts(table["label"]).to_pylist()}
    scores = {r["values"]: r["counts"] for r in pc.value_counts(table["score"].fill_null("none")).to_pylist()}
    return _summary(labels, scores)


def run_fused_sql(db: str, now: datetime, threads: int):
    """bench/handwritten_rfm.sql in DuckDB: what the fastest hand-written query does here."""
    import pyarrow.compute  # noqa: F401

    con = harness.duckdb_connection(db, threads)
    sql = (harness.BENCH / "handwritten_rfm.sql").read_text()

    def run():
        return _arrow_counts(con.execute(sql, {"now": now}).to_arrow_table()), {}
    return run


def run_pandas(db: str, now: datetime, threads: int):
    """Load customers and orders into pandas through Arrow, the fast path (timed as 'load'), then
    the same definitions."""
    import duckdb
    import numpy as np
    import pandas as pd

    sys.path.insert(0, str(harness.BENCH.parent / "plugins"))
    from segrules_rfm.labels import default_label_map

    label_map = default_label_map()
    lookup = np.empty(6 * 6 * 6, dtype=object)  # label of r*36 + f*6 + m
    for r in range(1, 6):
        for f in range(1, 6):
            for m in range(1, 6):
                lookup[r * 36 + f * 6 + m] = label_map.label_of(r, f, m)[0]

    def run():
        started = time.perf_counter()
        con = duckdb.connect(db, read_only=True)
        con.execute(f"SET threads = {threads}")
        customers = con.execute("SELECT customer_id FROM customers").to_arrow_table().to_pandas()
        orders = con.execute("SELECT customer_id, ordered_at, CAST(amount * 100 AS BIGINT) AS cents, status "
                             "FROM orders").to_arrow_table().to_pandas()  # via Arrow: 3-4x faster than .df()
        con.close()
        loaded = time.perf_counter()
        o = orders[(orders.ordered_at <= now) & (orders.ordered_at > now - timedelta(days=365))
                   & (orders.status == "paid") & orders.customer_id.notna()]
        g = o.groupby("customer_id", sort=False)
        per = pd.DataFrame({"last": g.ordered_at.max(), "frequency": g.size(), "cents": g.cents.sum()})
        per["recency_days"] = (now - per["last"]) // pd.Timedelta(days=1)
        per["monetary"] = per.cents / 100
        n = len(per)

        def score(values, lower_is_better=False):
            below = (-values if lower_is_better else values).rank(method="min").astype(np.int64) - 1
            return (below * 5) // n + 1

        per["r"], per["f"], per["m"] = score(per.recency_days, True), score(per.frequency), score(per.cents)
        per["label"] = lookup[(per.r * 36 + per.f * 6 + per.m).to_numpy()]
        per["score"] = per.r.astype(str) + per.f.astype(str) + per.m.astype(str)
        full = customers.merge(per, left_on="customer_id", right_index=True, how="left")
        full["label"] = full["label"].fillna("No purchases")
        full["frequency"] = full.frequency.fillna(0)
        counts = _summary(full.label.value_counts().to_dict(), full.score.fillna("none").value_counts().to_dict())
        return counts, {"load": loaded - started, "compute": time.perf_counter() - loaded}
    return run


VARIANTS = {"segrules": run_segrules, "fused_sql": run_fused_sql, "pandas": run_pandas}


def worker(variant: str, db: str, now: str, threads: str) -> None:
    run = VARIANTS[variant](db, datetime.fromisoformat(now), int(threads))
    started, cpu_started = time.perf_counter(), time.process_time()
    counts, phases = run()
    print(json.dumps({"variant": variant, "times": [time.perf_counter() - started],
                      "cpu_times": [time.process_time() - cpu_started],  # all threads of this process
                      "phases": phases, "peak_rss_mib": harness.peak_rss_mib(), "counts": counts}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_data_arguments(parser, customers=1_000_000, events=0, orders=20)
    parser.add_argument("--repeat", type=int, default=1, help="runs per variant; the median counts")
    args = parser.parse_args(argv)
    db = harness.ensure_data(args)
    print(harness.machine_line())
    results = harness.measure(ALL, db, args.now, args.repeat, args.threads, script=Path(__file__).resolve())
    harness.print_results(results, baseline="segrules")
    agree = harness.check_counts(results)
    seg = harness.median_of(results, "segrules")
    harness.print_ratio("pandas / segrules", harness.median_of(results, "pandas"), seg, ">= 10")
    harness.print_ratio("segrules / fused SQL", seg, harness.median_of(results, "fused_sql"),
                        "(the cost of segrules over the best hand-written query)")
    harness.print_ratio("pandas / fused SQL", harness.median_of(results, "pandas"),
                        harness.median_of(results, "fused_sql"), "(what DuckDB itself gains here)")
    return 0 if agree and not any("error" in r for r in results) else 1


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    worker(*sys.argv[2:])
elif __name__ == "__main__":
    sys.exit(main())
