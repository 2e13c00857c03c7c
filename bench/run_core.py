"""Core benchmark: segment_specs/bench_50.yaml by segrules vs hand-written SQL vs pandas.

    python bench/run_core.py --customers 1000000 --events-per-customer 20 --repeat 3

Every run is a fresh process (so peak RSS is per variant), round-robin over the variants, on the
same cached demo database, at the same as-of time, with the same DuckDB thread count; all must
find the same members.  Exits 1 if their counts differ or a variant fails.
"""

from __future__ import annotations

import argparse
import sys

import harness

ALL = ["segrules", "segrules_full", "fused_sql", "naive_sql", "pandas"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_data_arguments(parser, customers=1_000_000, events=20, orders=3)
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; the median counts")
    parser.add_argument("--variants", default=",".join(ALL),
                        help=f"comma-separated subset of {','.join(ALL)}")
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    unknown = sorted(set(variants) - set(ALL))
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)}")

    db = harness.ensure_data(args)
    print(harness.machine_line())
    results = harness.measure(variants, db, args.now, args.repeat, args.threads)
    harness.print_results(results, baseline="fused_sql")
    agree = harness.check_counts(results)
    print()
    seg, fused = harness.median_of(results, "segrules"), harness.median_of(results, "fused_sql")
    harness.print_ratio("segrules / fused SQL", seg, fused, "<= 1.1")
    harness.print_ratio("naive SQL / segrules", harness.median_of(results, "naive_sql"), seg, "> 1")
    harness.print_ratio("pandas / segrules", harness.median_of(results, "pandas"), seg, ">= 20")
    cpu = {v: harness.median_of(results, v, key="cpu") for v in variants}
    harness.print_ratio("CPU: segrules / fused SQL", cpu.get("segrules"), cpu.get("fused_sql"), "<= 1.1")
    harness.print_ratio("CPU: pandas / segrules", cpu.get("pandas"), cpu.get("segrules"), ">= 20")
    pandas = next((r for r in results if r["variant"] == "pandas" and "error" not in r), None)
    harness.print_ratio("pandas compute / segrules", pandas and pandas["phases"]["compute"], seg,
                        "(pandas without loading its tables)")
    harness.print_ratio("pandas / fused SQL", harness.median_of(results, "pandas"), fused,
                        "(what DuckDB itself gains here)")
    failed = [r["variant"] for r in results if "error" in r]
    return 0 if agree and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
