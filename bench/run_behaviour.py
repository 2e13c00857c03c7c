"""Behaviour benchmark: sequence() and percent_rank() by segrules vs the best hand-written DuckDB SQL.

    nice python bench/run_behaviour.py --customers 1000000 --events-per-customer 20 --repeat 3
    python bench/run_behaviour.py --customers 20000 --repeat 1            # quick correctness check
    python bench/run_behaviour.py --variants sql --formulations all        # the hand-written ones

Each definition of bench/behaviour_*.yaml (a feature and a segment on it) is computed for every
customer by segrules (load the spec, compile that segment and feature against the database, run
it to Arrow) and by the hand-written statements of bench/handwritten_behaviour.sql: BEST names
the baseline of each definition, ``--formulations`` adds the others. The data is the demo shop
with a pricing -> checkout -> paid order funnel (bench/behaviour_data.py). Every run is a fresh
process (peak RSS per variant), round-robin, at the same as-of time with the same DuckDB thread
count. Every variant's member flag and value must agree for every customer; the script prints
the differing customers and exits 1 otherwise (or if a variant fails).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import behaviour_data
import harness

SQL = harness.BENCH / "handwritten_behaviour.sql"
DEFINITIONS = {  # definition -> (spec, segment, feature)
    "funnel": (harness.BENCH / "behaviour_sequence.yaml", "funnel", "funnel_step"),
    "funnel_90d": (harness.BENCH / "behaviour_sequence.yaml", "funnel_90d", "funnel_step_90d"),
    "stuck_at_checkout": (harness.BENCH / "behaviour_sequence.yaml", "stuck_at_checkout", "funnel_open"),
    "top_spenders": (harness.BENCH / "behaviour_rank.yaml", "top_spenders", "spend_rank"),
    "most_engaged": (harness.BENCH / "behaviour_rank.yaml", "most_engaged", "engagement_rank"),
}
BEST = {"funnel": "joins", "funnel_90d": "joins", "stuck_at_checkout": "greedy",
        "top_spenders": "counting", "most_engaged": "counting"}
"""The fastest correct hand-written formulation of each definition (docs/performance.md)."""
TARGET = 1.3  # segrules / the best hand-written query, wall and CPU
RESULTS_ENV = "SEGRULES_BENCH_RESULTS"  # where workers leave each customer's member flag and value


def queries() -> dict[str, str]:
    """``definition.formulation`` -> its statement, split on the ``-- query: NAME`` markers."""
    return harness.split_queries(SQL)


def run_segrules(db: str, now: datetime, threads: int, definition: str):
    """Load the spec, compile the definition's segment and feature, run it to Arrow."""
    import ibis
    import ibis.backends.duckdb.converter  # noqa: F401  imported by Ibis on the first to_pyarrow

    segrules = harness.import_segrules()

    con = ibis.duckdb.connect(db, read_only=True, threads=threads)
    path, segment, feature = DEFINITIONS[definition]

    def run():
        started = time.perf_counter()
        spec = segrules.load(path)
        expr = spec.evaluate(con, as_of=now, segments=[segment], features=[feature])
        compiled = time.perf_counter()
        table = expr.to_pyarrow().select([spec.key, segment, feature])
        return table, {"load + compile": compiled - started, "execute": time.perf_counter() - compiled}
    return run


def run_sql(db: str, now: datetime, threads: int, definition: str, formulation: str):
    """The hand-written statement ``definition.formulation`` in DuckDB, to Arrow."""
    con = harness.duckdb_connection(db, threads)
    sql = queries()[f"{definition}.{formulation}"]

    def run():
        return con.execute(sql, {"now": now}).to_arrow_table(), {}
    return run


def make_run(variant: str, db: str, now: datetime, threads: int):
    """``segrules:DEF`` runs segrules, ``sql:DEF`` the best statement, ``sql.FORM:DEF`` another."""
    impl, definition = variant.split(":")
    if impl == "segrules":
        return run_segrules(db, now, threads, definition)
    formulation = impl.partition(".")[2] or BEST[definition]
    return run_sql(db, now, threads, definition, formulation)


def summary(table) -> dict[str, int]:
    """Members, and customers per value (per tenth of the value for a fraction)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    member, value = table.column(1), table.column(2)
    counts = {"members": pc.sum(member.cast(pa.int64())).as_py() or 0}
    if pa.types.is_floating(value.type):
        value = pc.floor(pc.multiply(value, 10)).cast(pa.int64())
        label = "tenth"
    else:
        label = "value"
    for row in pc.value_counts(value.fill_null(-1)).to_pylist():
        counts[f"{label} {row['values']}"] = row["counts"]
    return counts


def worker(variant: str, db: str, now: str, threads: str) -> None:
    run = make_run(variant, db, datetime.fromisoformat(now), int(threads))
    started, cpu_started = time.perf_counter(), time.process_time()
    table, phases = run()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started  # CPU: all threads
    table = table.rename_columns(["customer_id", "member", "value"])
    results = os.environ.get(RESULTS_ENV)
    if results:
        import pyarrow.parquet as pq

        pq.write_table(table, Path(results) / f"{variant}.parquet")
    print(json.dumps({"variant": variant, "times": [wall], "cpu_times": [cpu], "phases": phases,
                      "peak_rss_mib": harness.peak_rss_mib(), "counts": summary(table)}))


def compare(variants: list[str], results: Path) -> bool:
    """True if every variant's member flag and value agree with the first one's for every
    customer (fractions to 1e-12, the rest exactly); else print the first differing customers."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    tables = {}
    for v in variants:
        path = results / f"{v}.parquet"
        if path.exists():
            tables[v] = pq.read_table(path).sort_by("customer_id")
    if len(tables) < 2:
        return len(tables) == len(variants)
    first, *others = tables
    ok = True
    for other in others:
        a, b = tables[first], tables[other]
        if a.num_rows != b.num_rows or not a["customer_id"].equals(b["customer_id"]):
            print(f"MISMATCH: {other} returns other customers than {first} "
                  f"({b.num_rows:,} rows against {a.num_rows:,})")
            ok = False
            continue
        value_differs = pc.not_equal(a["value"], b["value"])
        if a["value"].type.equals(b["value"].type) and str(a["value"].type).startswith(("float", "double")):
            value_differs = pc.greater(pc.abs(pc.subtract(a["value"], b["value"])), 1e-12)
        differs = pc.or_kleene(pc.or_kleene(pc.not_equal(a["member"], b["member"]), value_differs),
                               pc.not_equal(pc.is_null(a["value"]), pc.is_null(b["value"])))
        bad = pc.indices_nonzero(differs.fill_null(True))
        if len(bad):
            ok = False
            print(f"MISMATCH: {other} differs from {first} for {len(bad):,} customers, e.g.:")
            print(f"{'customer_id':>12} {'member':>14} {'value':>28}")
            for i in bad.to_pylist()[:10]:
                row_a, row_b = a.slice(i, 1).to_pylist()[0], b.slice(i, 1).to_pylist()[0]
                print(f"{row_a['customer_id']:>12} {row_a['member']!s:>6} vs {row_b['member']!s:<6}"
                      f" {row_a['value']!s:>13} vs {row_b['value']!s:<13}")
    if ok:
        print(f"{len(tables)} variants agree on every customer's member flag and value")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_data_arguments(parser, customers=1_000_000, events=20, orders=3)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; the median counts")
    parser.add_argument("--definitions", default=",".join(DEFINITIONS),
                        help=f"comma-separated subset of {','.join(DEFINITIONS)}")
    parser.add_argument("--variants", default="segrules,sql", help="segrules, sql or both")
    parser.add_argument("--formulations", default="",
                        help="other hand-written formulations to time too (names after the dot in "
                             "bench/handwritten_behaviour.sql), or 'all'")
    args = parser.parse_args(argv)
    definitions = args.definitions.split(",")
    if unknown := sorted(set(definitions) - set(DEFINITIONS)):
        parser.error(f"unknown definitions: {', '.join(unknown)}")
    if unknown := sorted(set(args.variants.split(",")) - {"segrules", "sql"}):
        parser.error(f"unknown variants: {', '.join(unknown)} (segrules, sql)")
    per_definition = harness.plan_variants(definitions, BEST, queries(), args.variants, args.formulations)

    db = behaviour_data.ensure_behaviour_data(harness.ensure_data(args))
    print(harness.machine_line())
    variants = [v for vs in per_definition.values() for v in vs]
    with tempfile.TemporaryDirectory() as results:
        os.environ[RESULTS_ENV] = results
        measured = {r["variant"]: r for r in harness.measure(variants, db, args.now, args.repeat,
                                                             args.threads, script=Path(__file__).resolve())}
        ok = all("error" not in r for r in measured.values())
        for d, vs in per_definition.items():
            print(f"\n== {d}: segment {DEFINITIONS[d][1]!r}, feature {DEFINITIONS[d][2]!r}; "
                  f"baseline sql:{d} = {d}.{BEST[d]}")
            group = [measured[v] for v in vs]
            harness.print_results(group, baseline=f"sql:{d}")
            ok &= harness.check_counts(group)
            ok &= compare(vs, Path(results))
            harness.print_segrules_ratios(group, vs, d, TARGET)
    print(harness.machine_line())
    return 0 if ok else 1


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    worker(*sys.argv[2:])
elif __name__ == "__main__":
    sys.exit(main())
