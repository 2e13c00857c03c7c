"""What the benchmark scripts share: cached demo data, one subprocess per measured variant (so
each variant's peak RSS is its own), and the report tables.

``python bench/harness.py worker VARIANT DB NOW REPEAT THREADS`` is the subprocess: it runs the
variant REPEAT times and prints one JSON line with the counts, the times and its peak RSS.
The scripts run it with REPEAT 1, round-robin over the variants.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DEFAULT_NOW = "2026-10-15T12:00:00"
"""The fixed as-of time: the data is generated with it as ``now`` and every variant runs at it."""


def add_data_arguments(parser, customers: int, events: float, orders: float) -> None:
    parser.add_argument("--customers", type=int, default=customers)
    parser.add_argument("--events-per-customer", type=float, default=events)
    parser.add_argument("--orders-per-customer", type=float, default=orders)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--now", type=datetime.fromisoformat, default=DEFAULT_NOW,
                        help=f"as-of time of the data and of every run (default {DEFAULT_NOW})")
    parser.add_argument("--data", type=Path, default=BENCH / "data",
                        help="cache folder for generated databases (default bench/data)")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2)")


def ensure_data(args) -> Path:
    """The demo database for these parameters, generated once and then reused."""
    from segrules.demo import write_demo_data

    name = (f"demo_c{args.customers}_e{args.events_per_customer:g}_o{args.orders_per_customer:g}"
            f"_s{args.seed}_{args.now:%Y%m%dT%H%M%S}.duckdb")
    path = args.data / name
    if path.exists():
        print(f"data: {path} (cached)")
        return path
    args.data.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        print(f"\r  {stage}: {done:,}/{total:,} ({time.perf_counter() - started:.0f} s)",
              end="", file=sys.stderr, flush=True)

    rows = write_demo_data(path, customers=args.customers, seed=args.seed,
                           events_per_customer=args.events_per_customer,
                           orders_per_customer=args.orders_per_customer, now=args.now,
                           progress=progress)
    print(file=sys.stderr)
    print(f"data: {path} generated in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    return path


def split_queries(path: Path) -> dict[str, str]:
    """``NAME.FORMULATION`` -> its statement: a hand-written SQL file split on its ``-- query: NAME``
    markers (bench/handwritten_behaviour.sql, bench/handwritten_cohorts.sql)."""
    parts = re.split(r"^-- query: ([\w.]+)\n", path.read_text(), flags=re.M)
    return {name: sql.strip().rstrip(";") for name, sql in zip(parts[1::2], parts[2::2])}


def plan_variants(names: list[str], best: dict[str, str], written: dict[str, str], variants: str,
                  formulations: str) -> dict[str, list[str]]:
    """Per name (a definition, an analysis): ``IMPL:NAME`` for each of ``variants`` (segrules,
    sql: the ``best`` formulation), then ``sql.FORM:NAME`` for the other written formulations
    asked for (``formulations``: comma-separated, or ``all``)."""
    out = {}
    for n in names:
        extra = [w.partition(".")[2] for w in written if w.startswith(f"{n}.") and w != f"{n}.{best[n]}"]
        if formulations != "all":
            extra = [f for f in extra if f in formulations.split(",")]
        out[n] = [f"{impl}:{n}" for impl in variants.split(",")] + [f"sql.{f}:{n}" for f in extra]
    return out


def build_database(path: Path, build, verb: str = "generated", threads: int | None = None) -> Path:
    """The DuckDB file ``path``, made once by ``build(con)`` (which returns rows per table) and
    then reused: written beside it and renamed into place, so an interrupted build leaves none."""
    import duckdb

    if path.exists():
        print(f"data: {path} (cached)")
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(tmp), config={} if threads is None else {"threads": threads}) as con:
            con.execute("SET enable_progress_bar = false")
            rows = build(con)
            con.execute("CHECKPOINT")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    print(f"data: {path} {verb} in {time.perf_counter() - started:.1f} s: "
          + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    return path


def duckdb_connection(db: str | Path, threads: int):
    """A read-only DuckDB connection for a hand-written variant, with its set-up done.

    DuckDB's Python client imports pandas (0.3-0.5 s of CPU here) the first time a query binds a
    parameter, and pyarrow on the first ``to_arrow_table``: costs of the first call in a process,
    not of the query. They are paid here, untimed, as the segrules variants import Ibis's Arrow
    converter (and pandas with it) in their set-up."""
    import duckdb
    import pyarrow  # noqa: F401

    con = duckdb.connect(str(db), read_only=True, config={"threads": threads})
    con.execute("SELECT $now", {"now": datetime(2000, 1, 1)}).to_arrow_table()
    return con


def compile_bytecode() -> None:
    """Byte-compile segrules and its plugins before the runs, as an installed package is: with
    PYTHONDONTWRITEBYTECODE set (as on this workplace's machines) an editable install would
    otherwise compile every module from source in every fresh worker (about 25 ms of the
    segrules variants' time that no deployed segrules pays)."""
    import compileall

    for folder in (BENCH.parent / "segrules", BENCH.parent / "plugins"):
        compileall.compile_dir(str(folder), quiet=1)


def import_segrules():
    """``segrules`` with the modules a spec's load, check and compile use already imported (set-up,
    not timed). Since ``import segrules`` became lazy (docs/performance.md, "Start-up") they are
    imported on first use, which a library user's process pays once, not per spec: without this
    the first timed run of each fresh worker counted Ibis's and the stages' imports as load +
    compile."""
    import importlib

    import segrules

    for module in ("segrules.api", "segrules.check.analyze", "segrules.check.schema", "segrules.compile.plan",
                   "segrules.compile.namespaces", "segrules.run.execute"):
        importlib.import_module(module)
    return segrules


def measure(variants: list[str], db: Path, now: datetime, repeat: int, threads: int,
            script: Path | None = None) -> list[dict]:
    """Each variant ``repeat`` times, round-robin (so load from other work on the machine falls
    on all variants alike), every run in a fresh interpreter.  Per variant: median time, median
    phases, the highest peak RSS, the counts; or ``{"error": ...}`` if a run failed.

    The runs are ``python harness.py worker VARIANT DB NOW 1 THREADS`` (the variants of
    variants.py), or with ``script`` ``python SCRIPT worker VARIANT DB NOW THREADS``: a script
    with its own variants, whose worker prints the JSON line :func:`worker` prints."""
    runs: dict[str, list[dict]] = {v: [] for v in variants}
    failed: dict[str, dict] = {}
    compile_bytecode()
    for round_ in range(1, repeat + 1):
        for variant in variants:
            if variant in failed:
                continue
            print(f"run {round_}/{repeat}: {variant} ...", end=" ", flush=True)
            report = _run_once(variant, db, now, threads, script)
            if "error" in report:
                print(f"FAILED: {report['error']}")
                failed[variant] = report
                continue
            print(f"{report['times'][0]:.2f} s (CPU {report['cpu_times'][0]:.2f} s)" + "".join(
                f", {k} {v:.2f} s" for k, v in report["phases"].items()), flush=True)
            runs[variant].append(report)
    return [failed.get(v) or _merge(v, runs[v]) for v in variants]


def _run_once(variant: str, db: Path, now: datetime, threads: int, script: Path | None) -> dict:
    if script is None:
        command = [sys.executable, str(Path(__file__).resolve()), "worker", variant, str(db),
                   now.isoformat(), "1", str(threads)]
    else:
        command = [sys.executable, str(script), "worker", variant, str(db), now.isoformat(), str(threads)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["(no output)"]
        tail = next((line for line in reversed(lines) if "Error" in line), lines[-1])
        return {"variant": variant, "error": tail}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _merge(variant: str, reports: list[dict]) -> dict:
    counts = [r["counts"] for r in reports]
    if any(c != counts[0] for c in counts):
        return {"variant": variant, "error": "counts differ between runs of the same variant"}
    times = [t for r in reports for t in r["times"]]
    cpu_times = [t for r in reports for t in r["cpu_times"]]
    phases = {name: statistics.median(r["phases"][name] for r in reports) for name in reports[0]["phases"]}
    return {"variant": variant, "times": times, "median": statistics.median(times), "phases": phases,
            "cpu_times": cpu_times, "cpu": statistics.median(cpu_times),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in reports), "counts": counts[0]}


def worker(variant: str, db: str, now: str, repeat: str, threads: str) -> None:
    sys.path.insert(0, str(BENCH))
    from variants import VARIANTS

    run = VARIANTS[variant](db, datetime.fromisoformat(now), int(threads))
    times, cpu_times, phases, counts = [], [], {}, None
    for _ in range(int(repeat)):
        started, cpu_started = time.perf_counter(), time.process_time()
        counts, run_phases = run()
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)  # all threads of this process
        for name, seconds in run_phases.items():
            phases.setdefault(name, []).append(seconds)
    print(json.dumps({
        "variant": variant, "times": times, "median": statistics.median(times),
        "cpu_times": cpu_times, "cpu": statistics.median(cpu_times),
        "phases": {name: statistics.median(values) for name, values in phases.items()},
        "peak_rss_mib": peak_rss_mib(),
        "counts": {name: int(n) for name, n in counts.items()},
    }))


def peak_rss_mib() -> float:
    """This process's peak RSS.  VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the
    parent across fork + exec, so a child would report at least its parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: KiB on most


def machine_line() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine: {os.cpu_count()} cores, load average {load} (other work skews timings)"


def print_results(results: list[dict], baseline: str) -> None:
    """variant | median wall | peak RSS | ratio to ``baseline`` | median CPU (all threads) | ratio.

    CPU time is the steadier figure on a shared machine: other work stretches wall time, not
    the CPU seconds a variant needs."""
    ok = {r["variant"]: r for r in results if "error" not in r}
    base = ok.get(baseline)
    w = max([16] + [len(r["variant"]) + 2 for r in results])
    wr, wc = max(16, len(baseline) + 5), max(20, len(baseline) + 9)
    print(f"\n{'variant':<{w}}{'median s':>10}{'peak RSS MiB':>14}{'vs ' + baseline:>{wr}}"
          f"{'CPU s':>10}{'CPU vs ' + baseline:>{wc}}")
    for r in results:
        if "error" in r:
            print(f"{r['variant']:<{w}}{'failed: ' + r['error'][:80]}")
            continue
        ratio = f"{r['median'] / base['median']:.2f}x" if base else "-"
        cpu_ratio = f"{r['cpu'] / base['cpu']:.2f}x" if base else "-"
        print(f"{r['variant']:<{w}}{r['median']:>10.2f}{r['peak_rss_mib']:>14.0f}{ratio:>{wr}}"
              f"{r['cpu']:>10.2f}{cpu_ratio:>{wc}}")


def check_counts(results: list[dict]) -> bool:
    """True if every variant that ran found the same members per segment; else print where not."""
    ran = [r for r in results if "error" not in r]
    if not ran:
        return False
    segments = list(ran[0]["counts"])
    for r in ran[1:]:
        segments += [s for s in r["counts"] if s not in segments]
    bad = [s for s in segments if len({r["counts"].get(s) for r in ran}) > 1]
    if not bad:
        print(f"\ncounts: all {len(ran)} variants agree on all {len(segments)} segments")
        return True
    print(f"\nCOUNT MISMATCH in {len(bad)} of {len(segments)} segments:")
    print(f"{'segment':<26}" + "".join(f"{r['variant']:>16}" for r in ran))
    for s in bad:
        print(f"{s:<26}" + "".join(f"{str(r['counts'].get(s, 'missing')):>16}" for r in ran))
    return False


def median_of(results: list[dict], variant: str, key: str = "median") -> float | None:
    """The median wall time of ``variant`` (``key="cpu"``: its median CPU time)."""
    return next((r[key] for r in results if r["variant"] == variant and "error" not in r), None)


def print_ratio(label: str, numerator: float | None, denominator: float | None, target: str) -> None:
    if numerator is None or denominator is None:
        print(f"{label:<28} n/a (a variant failed)   target {target}")
    else:
        print(f"{label:<28} {numerator / denominator:>7.2f}x   target {target}")


def print_segrules_ratios(group, variants, name: str, target: float) -> None:
    """Wall and CPU of ``segrules:NAME`` over ``sql:NAME``, when segrules was measured."""
    if f"segrules:{name}" not in variants:
        return
    for key, label in (("median", "wall"), ("cpu", "CPU")):
        print_ratio(f"{label}: segrules / SQL", median_of(group, f"segrules:{name}", key),
                    median_of(group, f"sql:{name}", key), f"<= {target}")


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    worker(*sys.argv[2:])
