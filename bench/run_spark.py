"""bench_50 and the RFM namespace on local Spark against DuckDB, same data, same machine.

Set-up (not measured): the demo shop (``segrules.demo.write_demo_data``: ``--customers``,
``--events-per-customer``, ``--orders-per-customer``) in a DuckDB file under ``--data``, exported
to Parquet; Spark reads the Parquet files as tables (``local[N]`` from ``--master``, Spark's
defaults otherwise, the event log on in ``--event-log``).

Measured, ``--repeat`` warm runs each after one warm-up: ``duckdb:bench_50`` / ``spark:bench_50``
(member counts of every segment of segment_specs/bench_50.yaml, one query) and ``duckdb:rfm`` /
``spark:rfm`` (the ``rfm`` namespace of segment_specs/ecommerce.yaml materialised). For Spark
also the jobs and stages per run. Both engines must give the same counts, or the script fails.
Then bench/spark_stages.py checks the event log: no single-task stage reading more than
``--max-rows`` rows.

    python bench/run_spark.py --customers 10000 --repeat 3
    python bench/run_spark.py --customers 10000000 --events-per-customer 10 --repeat 1 --no-warmup \
        --split-mb 128 --shuffle-partitions 16 --driver-memory 12g
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

NOW = datetime(2026, 11, 1, 6, 30)
TABLES = ("customers", "orders", "events")


def prepare(args) -> Path:
    import duckdb

    from segrules.demo import write_demo_data
    folder = args.data / f"shop_{args.customers}_{args.events_per_customer:g}_{args.orders_per_customer:g}"
    if not (folder / "events.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_demo_data(folder / "shop.duckdb", customers=args.customers, seed=16, now=NOW,
                        events_per_customer=args.events_per_customer, orders_per_customer=args.orders_per_customer)
        con = duckdb.connect(str(folder / "shop.duckdb"))
        for t in TABLES:
            con.table(t).write_parquet(str(folder / f"{t}.parquet"))
        con.close()
    return folder


def spark_connection(args, folder: Path):
    from segrules.run.spark import spark_connect
    from segrules.run.targets import SparkTarget
    args.event_log.mkdir(parents=True, exist_ok=True)
    settings = {"spark.ui.enabled": "false", "spark.log.level": "ERROR", "spark.ui.showConsoleProgress": "false",
                "spark.eventLog.enabled": "true", "spark.eventLog.dir": str(args.event_log.absolute()),
                "spark.eventLog.compress": "false",  # bench/spark_stages.py reads JSON lines
                "spark.driver.memory": args.driver_memory,
                # so small data shows the plan's shape: input split into --split-mb parts, and shuffles
                # not coalesced into one partition (then a single-task stage is one by construction)
                "spark.sql.files.maxPartitionBytes": f"{args.split_mb}m",
                "spark.sql.adaptive.coalescePartitions.enabled": "false",
                "spark.sql.shuffle.partitions": str(args.shuffle_partitions)}
    con = spark_connect(SparkTarget(master=args.master, settings=tuple(settings.items())))
    for t in TABLES:
        con._session.read.parquet(str(folder / f"{t}.parquet")).createOrReplaceTempView(t)
    return con


def bench_50(con):
    import segrules
    from segrules.run import counts
    spec = segrules.load(str(ROOT / "segment_specs" / "bench_50.yaml"))
    wide = spec.evaluate(con, as_of=NOW, features=[])
    return tuple(c.members for c in counts(wide, list(spec.segments)))


def rfm(con):
    import segrules
    spec = segrules.load(str(ROOT / "segment_specs" / "ecommerce.yaml"))
    table = spec.namespace(con, "rfm", as_of=NOW).to_pyarrow()
    return tuple(sorted(table.group_by("score").aggregate([("score", "count")]).to_pylist(),
                        key=lambda r: str(r["score"])).__repr__().split())


def timed(fn, con, repeat: int, tracker=None, warmup: bool = True):
    if warmup:
        fn(con)  # warm-up: JIT, catalogs, Python imports
    times, jobs, stages = [], [], []
    for _ in range(repeat):
        before = (len(tracker.getJobIdsForGroup(None)), _stage_count(tracker)) if tracker else None
        start = time.perf_counter()
        result = fn(con)
        times.append(time.perf_counter() - start)
        if tracker:
            jobs.append(len(tracker.getJobIdsForGroup(None)) - before[0])
            stages.append(_stage_count(tracker) - before[1])
    return result, statistics.median(times), jobs, stages


def _stage_count(tracker) -> int:
    return sum(len(tracker.getJobInfo(j).stageIds) for j in tracker.getJobIdsForGroup(None) if tracker.getJobInfo(j))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--events-per-customer", type=float, default=10.0)
    parser.add_argument("--orders-per-customer", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--driver-memory", default="2g")
    parser.add_argument("--data", type=Path, default=Path("/tmp/segrules-bench-spark"))
    parser.add_argument("--event-log", type=Path, default=Path("/tmp/segrules-bench-spark/events"))
    parser.add_argument("--max-rows", type=int, default=1_000)
    parser.add_argument("--split-mb", type=int, default=1, help="input split size (Spark: 128)")
    parser.add_argument("--shuffle-partitions", type=int, default=8)
    parser.add_argument("--only", choices=["bench_50", "rfm"], action="append")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false",
                        help="no warm-up run before the measured ones (at 10M customers a warm-up doubles the time)")
    args = parser.parse_args(argv)
    import ibis
    folder = prepare(args)
    duck = ibis.duckdb.connect()
    for t in TABLES:
        duck.create_table(t, duck.read_parquet(str(folder / f"{t}.parquet")), temp=True)
    spark = spark_connection(args, folder)
    tracker = spark._session.sparkContext.statusTracker()
    import harness
    print(f"{args.customers:,} customers, Spark {spark.version} {args.master}; {harness.machine_line()}", flush=True)
    for name, fn in (("bench_50", bench_50), ("rfm", rfm)):
        if args.only and name not in args.only:
            continue
        want, duck_s, _, _ = timed(fn, duck, args.repeat, warmup=args.warmup)
        got, spark_s, jobs, stages = timed(fn, spark, args.repeat, tracker, warmup=args.warmup)
        if got != want:
            print(f"{name}: Spark and DuckDB disagree", file=sys.stderr)
            return 1
        print(f"{name:9} duckdb {duck_s:8.2f} s   spark {spark_s:8.2f} s ({spark_s / duck_s:5.1f}x)   "
              f"spark jobs/run {jobs}  stages/run {stages}", flush=True)
    print(harness.machine_line(), flush=True)
    log = spark._session.sparkContext.applicationId
    spark.disconnect()
    from spark_stages import main as check
    return check([str(args.event_log / f"eventlog_v2_{log}"), "--max-rows", str(args.max_rows), "--quiet"])


if __name__ == "__main__":
    sys.exit(main())
