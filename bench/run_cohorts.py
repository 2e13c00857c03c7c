"""Cohorts benchmark: a 12-week retention matrix and a 4-step funnel by segrules vs the best
hand-written DuckDB SQL.

    nice python bench/run_cohorts.py --customers 1000000 --events-per-customer 20 --repeat 3
    nice python bench/run_cohorts.py --customers 10000000 --events-per-customer 10 --repeat 1
    python bench/run_cohorts.py --customers 20000 --repeat 1               # quick correctness check
    python bench/run_cohorts.py --variants sql --formulations all          # the hand-written ones

The analyses of bench/cohorts_bench.yaml (the weekly cohort ``signup_week``, 12 periods, and the
funnel ``onboarding``, 4 steps, convert 14d) are computed by segrules as ``segrules cohort`` and
``segrules funnel`` compute them (load the spec, the plugin's report function: check, compile,
ONE query, to Python values; all timed) and by the hand-written statements of
bench/handwritten_cohorts.sql: BEST names the baseline of each analysis, ``--formulations`` adds
the others. Data: bench/cohorts_data.py, generated in DuckDB and cached in ``--data``. Every run
is a fresh process (peak RSS per variant), round-robin, at the same as-of time with the same
DuckDB thread count. Every variant's result must agree with the others cell by cell (counts
exactly, times between funnel steps to a microsecond); the script prints the differing cells and
exits 1 otherwise (or if a variant fails).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from datetime import datetime
from pathlib import Path

import cohorts_data
import harness

SPEC = harness.BENCH / "cohorts_bench.yaml"
SQL = harness.BENCH / "handwritten_cohorts.sql"
ANALYSES = {"retention": "signup_week", "funnel": "onboarding"}  # analysis -> its entry in the spec
BEST = {"retention": "bitmask", "funnel": "joins"}
"""The fastest correct hand-written formulation of each analysis (docs/performance.md)."""
TARGET = 1.3  # segrules / the best hand-written query, wall and CPU


def queries() -> dict[str, str]:
    """``analysis.formulation`` -> its statement, split on the ``-- query: NAME`` markers."""
    return harness.split_queries(SQL)


def retention_rows(report) -> list[dict]:
    """A ``segrules_cohorts`` CohortReport as the hand-written statements' rows."""
    return [{"cohort": r.label, "size": r.size, **{f"active{k}": n for k, n in enumerate(r.active)}}
            for r in report.rows]


def funnel_rows(report) -> list[dict]:
    """A ``segrules_cohorts.funnels`` FunnelReport as the hand-written statement's row."""
    row = {f"n{j + 1}": s.users for j, s in enumerate(report.steps)}
    for j, s in enumerate(report.steps[1:], start=2):
        row[f"q50_{j}"], row[f"q90_{j}"] = s.median_seconds, s.p90_seconds
    return [row]


def run_segrules(db: str, now: datetime, threads: int, analysis: str):
    """What ``segrules cohort`` / ``segrules funnel`` do before printing: load the spec, the
    plugin's report (check, compile, one query, to Python values)."""
    import ibis
    import ibis.backends.duckdb.converter  # noqa: F401  imported by Ibis on the first to_pyarrow

    segrules = harness.import_segrules()
    from segrules_cohorts.funnels.report import compute_report
    from segrules_cohorts.report import compute_cohort

    con = ibis.duckdb.connect(db, read_only=True, threads=threads)
    compute, rows = ((compute_cohort, retention_rows) if analysis == "retention"
                     else (compute_report, funnel_rows))

    def run():
        started = time.perf_counter()
        spec = segrules.load(SPEC)
        loaded = time.perf_counter()
        report = compute(spec, con, ANALYSES[analysis], as_of=now)
        return rows(report), {"load": loaded - started, "compile + execute": time.perf_counter() - loaded}
    return run


def run_sql(db: str, now: datetime, threads: int, analysis: str, formulation: str):
    """The hand-written statement ``analysis.formulation`` in DuckDB, to Python values."""
    con = harness.duckdb_connection(db, threads)
    sql = queries()[f"{analysis}.{formulation}"]

    def run():
        return con.execute(sql, {"now": now}).to_arrow_table().to_pylist(), {}
    return run


def make_run(variant: str, db: str, now: datetime, threads: int):
    """``segrules:ANALYSIS`` runs segrules, ``sql:ANALYSIS`` the best statement, ``sql.FORM:ANALYSIS``
    another one."""
    impl, analysis = variant.split(":")
    if impl == "segrules":
        return run_segrules(db, now, threads, analysis)
    return run_sql(db, now, threads, analysis, impl.partition(".")[2] or BEST[analysis])


def cells(rows: list[dict]) -> dict[str, object]:
    """Every cell of a result: ``ROW.COLUMN`` -> value (ROW: the cohort label, or ``funnel``)."""
    out = {}
    for i, row in enumerate(rows):
        name = row.get("cohort", "funnel" if len(rows) == 1 else str(i))
        for column, value in row.items():
            if column != "cohort":
                out[f"{name}.{column}"] = value
    return out


def worker(variant: str, db: str, now: str, threads: str) -> None:
    run = make_run(variant, db, datetime.fromisoformat(now), int(threads))
    started, cpu_started = time.perf_counter(), time.process_time()
    rows, phases = run()
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started  # CPU: all threads
    print(json.dumps({"variant": variant, "times": [wall], "cpu_times": [cpu], "phases": phases,
                      "peak_rss_mib": harness.peak_rss_mib(), "counts": cells(rows)}))


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        return math.isclose(a, b, rel_tol=0, abs_tol=1e-6)  # seconds: a microsecond
    return a == b


def compare(results: list[dict]) -> bool:
    """True if every variant's cells equal the first one's; else print the differing cells."""
    ran = [r for r in results if "error" not in r]
    if len(ran) < 2:
        return len(ran) == len(results)
    first, ok = ran[0], True
    for other in ran[1:]:
        a, b = first["counts"], other["counts"]
        names = list(dict.fromkeys([*a, *b]))
        bad = [n for n in names if n not in a or n not in b or not same(a[n], b[n])]
        if bad:
            ok = False
            print(f"MISMATCH: {other['variant']} differs from {first['variant']} in {len(bad)} of "
                  f"{len(names)} cells, e.g.:")
            for n in bad[:10]:
                print(f"  {n:<24} {a.get(n, 'missing')!s:>22} vs {b.get(n, 'missing')!s}")
    if ok:
        print(f"{len(ran)} variants agree on all {len(first['counts'])} cells")
    return ok


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--events-per-customer", type=float, default=20)
    parser.add_argument("--now", type=datetime.fromisoformat, default=harness.DEFAULT_NOW,
                        help=f"as-of time of the data and of every run (default {harness.DEFAULT_NOW})")
    parser.add_argument("--data", type=Path, default=harness.BENCH / "data",
                        help="cache folder for generated databases (default bench/data)")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; the median counts")
    parser.add_argument("--analyses", default=",".join(ANALYSES),
                        help=f"comma-separated subset of {','.join(ANALYSES)}")
    parser.add_argument("--variants", default="segrules,sql", help="segrules, sql or both")
    parser.add_argument("--formulations", default="",
                        help="other hand-written formulations to time too (names after the dot in "
                             "bench/handwritten_cohorts.sql), or 'all'")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    analyses = args.analyses.split(",")
    if unknown := sorted(set(analyses) - set(ANALYSES)):
        parser.error(f"unknown analyses: {', '.join(unknown)}")
    if unknown := sorted(set(args.variants.split(",")) - {"segrules", "sql"}):
        parser.error(f"unknown variants: {', '.join(unknown)} (segrules, sql)")
    per_analysis = harness.plan_variants(analyses, BEST, queries(), args.variants, args.formulations)

    db = cohorts_data.ensure_cohorts_data(args.data, args.customers, args.events_per_customer, args.now,
                                          args.threads)
    print(harness.machine_line())
    variants = [v for vs in per_analysis.values() for v in vs]
    measured = {r["variant"]: r for r in harness.measure(variants, db, args.now, args.repeat, args.threads,
                                                         script=Path(__file__).resolve())}
    ok = all("error" not in r for r in measured.values())
    for a, vs in per_analysis.items():
        print(f"\n== {a}: {ANALYSES[a]} of {SPEC.name}; baseline sql:{a} = {a}.{BEST[a]}")
        group = [measured[v] for v in vs]
        harness.print_results(group, baseline=f"sql:{a}")
        ok &= compare(group)
        harness.print_segrules_ratios(group, vs, a, TARGET)
    print(harness.machine_line())
    return 0 if ok else 1


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    worker(*sys.argv[2:])
elif __name__ == "__main__":
    sys.exit(main())
