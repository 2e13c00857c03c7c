"""Check a Spark event log for stages that funnel many rows through one task.

A stage with a single task is fine when it only merges partial results (the final step of a
global aggregate reads one row per partition); it is the scaling defect issue 16 names when it
reads many rows from a shuffle (a window without a partition, a global sort into one partition).
This script reads the event log(s) Spark wrote (``spark.eventLog.enabled``), lists every stage
with its task count and the rows it read from shuffles, and exits 1 if a single-task stage read
more than ``--max-rows`` of them.

    python bench/spark_stages.py /tmp/spark-events            # every log in the directory
    python bench/spark_stages.py LOG --max-rows 1000 --quiet
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

# Rows a stage gets from a shuffle: a single task reading many of them is the funnel. (A scan of
# an input smaller than one split is one task by nature, not a plan shape: input rows don't count.)
READ = ("internal.metrics.shuffle.read.recordsRead",)


def stages(log: Path) -> list[dict]:
    """Per completed stage: id, name, tasks, rows read."""
    out = []
    with log.open() as f:
        for line in f:
            event = json.loads(line)
            if event.get("Event") != "SparkListenerStageCompleted":
                continue
            info = event["Stage Info"]
            rows = sum(int(a.get("Value") or 0) for a in info.get("Accumulables", []) if a.get("Name") in READ)
            out.append({"stage": info["Stage ID"], "name": info.get("Stage Name", ""), "tasks": info["Number of Tasks"],
                        "rows": rows})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path, help="event log files or directories of them")
    parser.add_argument("--max-rows", type=int, default=1_000, help="rows a single-task stage may read")
    parser.add_argument("--quiet", action="store_true", help="only the offending stages and the summary")
    args = parser.parse_args(argv)
    # Spark 4 writes a directory per application (eventlog_v2_APP/events_N_APP); older ones a file
    files = [p for arg in args.logs for p in (sorted(arg.rglob("*")) if arg.is_dir() else [arg]) if p.is_file()
             and not p.name.startswith(("appstatus", "."))]
    compressed = [p for p in files if p.suffix in (".zstd", ".lz4", ".snappy", ".lzf")]
    if compressed:
        print(f"compressed event logs ({compressed[0].name}): run Spark with spark.eventLog.compress=false",
              file=sys.stderr)
        return 2
    bad = 0
    for log in files:
        found = stages(log)
        for s in found:
            offending = s["tasks"] == 1 and s["rows"] > args.max_rows
            bad += offending
            if offending or not args.quiet:
                print(f"{log.name} stage {s['stage']:>4}: {s['tasks']:>4} tasks {s['rows']:>12,} rows"
                      f"{'  <-- single task' if offending else ''}  {s['name'][:60]}")
        print(f"{log.name}: {len(found)} stages, {sum(s['tasks'] == 1 for s in found)} with one task, "
              f"{sum(s['tasks'] == 1 and s['rows'] > args.max_rows for s in found)} of them reading > {args.max_rows:,} rows")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
