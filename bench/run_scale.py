"""Scale benchmark: the 50 segments' member counts by segrules on 10M customers / 100M events.

    python bench/run_scale.py                      # 10M customers, 10 events and 3 orders each
    python bench/run_scale.py --variants segrules,fused_sql

Data generation (cached in bench/data) is not measured.  Targets: < 60 s wall, < 12 GiB peak RSS.
"""

from __future__ import annotations

import argparse
import sys

import harness

TARGET_SECONDS, TARGET_RSS_MIB = 60, 12 * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_data_arguments(parser, customers=10_000_000, events=10, orders=3)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--variants", default="segrules",
                        help="comma-separated, from: segrules, segrules_full, fused_sql, naive_sql, pandas")
    args = parser.parse_args(argv)

    db = harness.ensure_data(args)
    print(harness.machine_line())
    results = harness.measure(args.variants.split(","), db, args.now, args.repeat, args.threads)
    harness.print_results(results, baseline=results[0]["variant"])
    agree = harness.check_counts(results) if len(results) > 1 else True
    ok = agree
    for r in results:
        if "error" in r:
            ok = False
            continue
        fits = r["median"] < TARGET_SECONDS and r["peak_rss_mib"] < TARGET_RSS_MIB
        ok &= fits
        print(f"{r['variant']}: {r['median']:.1f} s (target < {TARGET_SECONDS} s), "
              f"peak RSS {r['peak_rss_mib'] / 1024:.2f} GiB (target < {TARGET_RSS_MIB // 1024} GiB)"
              f" -> {'ok' if fits else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
