"""The long fuzz run, for releases: N generated inputs through ``segrules validate``'s entry points.

    python bench/fuzz.py --n 1000000 --seed 0 --jobs 2
    python bench/fuzz.py --n 100000 --start 300000      # inputs 300,000 .. 399,999 of seed 0

Input ``k`` of seed ``s`` comes from ``random.Random(f"{s}:{k}")`` and ``tests/fuzzkit.py``'s
generators (the ones ``tests/test_fuzz.py`` uses: grammar.lark sentences, typed rules,
spec-shaped YAML with tags/anchors/aliases/odd unicode, mutations). Every input is loaded and
validated offline; every ``--db-every``-th (a tamer spec, so that most get that far) is validated
against a small in-memory DuckDB too and, when valid, run on it. The only allowed outcomes are success and SegrulesError diagnostics:
anything else (or an input that takes more than ``--timeout`` seconds) is a crash, reported with
its type, and its input saved to ``--crash-dir`` (then add it to ``tests/fuzz_corpus/``).
Exit code 0 when there was no crash, 1 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing
import random
import signal
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

_WORKER: dict = {}


class Hang(Exception):
    """An input ran past --timeout."""


def _alarm(signum, frame):
    raise Hang("timed out")


def _start(db_every: int, timeout: float, only_db: bool = False) -> None:
    import fuzzkit

    offline = fuzzkit.Oracle()
    _WORKER.update(offline=offline, db_every=db_every, timeout=timeout, only_db=only_db,
                   db=fuzzkit.Oracle(fuzzkit.small_duckdb(), offline.registry, run=True) if db_every else None)
    signal.signal(signal.SIGALRM, _alarm)


def _run(job: tuple[int, int, int]) -> tuple[collections.Counter, list[dict]]:
    """Inputs ``start .. start+count-1`` of ``seed``: outcome counts and crashes."""
    import fuzzkit

    seed, start, count = job
    counts: collections.Counter = collections.Counter()
    crashes = []
    for k in range(start, start + count):
        every = _WORKER["db_every"]
        on_db = bool(every) and k % every == 0
        if _WORKER["only_db"] and not on_db:
            continue
        text = fuzzkit.generate(random.Random(f"{seed}:{k}"), tame=on_db)
        oracle = _WORKER["db"] if on_db else _WORKER["offline"]
        signal.setitimer(signal.ITIMER_REAL, _WORKER["timeout"])
        try:
            outcome = oracle.check(text)
        except (Exception, RecursionError) as exc:  # noqa: BLE001 - a crash is what we look for
            outcome = "CRASH"
            crashes.append({"seed": seed, "input": k, "error": f"{type(exc).__name__}: {exc}"[:500],
                            "traceback": traceback.format_exc(limit=-8), "text": text,
                            "db": oracle is not _WORKER["offline"]})
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        counts[outcome] += 1
    return counts, crashes


def _save(crash: dict, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"crash-{crash['seed']}-{crash['input']}"
    stem.with_suffix(".yaml").write_bytes(crash["text"].encode("utf-8", "surrogatepass"))
    stem.with_suffix(".txt").write_text(f"{crash['error']}\n\n{crash['traceback']}", encoding="utf-8")
    return stem.with_suffix(".yaml")


def summarize(counts: collections.Counter) -> dict[str, int]:
    """Outcome counts grouped by stage: load/invalid/run diagnostics, valid, ran, CRASH."""
    grouped: collections.Counter = collections.Counter()
    for outcome, n in counts.items():
        grouped[outcome.split(":")[0]] += n
    return dict(grouped.most_common())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="number of inputs (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="first input number (to run a range in parts)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--db-every", type=int, default=200,
                        help="also validate and run every Nth input on DuckDB (0: never; default 200)")
    parser.add_argument("--only-db", action="store_true",
                        help="only the inputs that go to DuckDB (every --db-every-th), e.g. to re-check them")
    parser.add_argument("--timeout", type=float, default=20.0, help="seconds per input before it is a crash")
    parser.add_argument("--chunk", type=int, default=500)
    parser.add_argument("--crash-dir", default=str(ROOT / "bench" / "fuzz_crashes"))
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    if args.only_db and not args.db_every:
        parser.error("--only-db needs --db-every > 0")

    end = args.start + args.n
    total = sum(1 for k in range(args.start, end) if k % args.db_every == 0) if args.only_db else args.n
    jobs = [(args.seed, start, min(args.chunk, end - start)) for start in range(args.start, end, args.chunk)]
    counts: collections.Counter = collections.Counter()
    crashes: list[dict] = []
    saved: list[str] = []
    began = last = time.perf_counter()
    with multiprocessing.get_context("forkserver").Pool(args.jobs, _start, (args.db_every, args.timeout, args.only_db)) as pool:
        for part, found in pool.imap_unordered(_run, jobs):
            counts.update(part)
            crashes += found
            saved += [str(_save(c, Path(args.crash_dir))) for c in found]  # kept even if the run is stopped
            now = time.perf_counter()
            if now - last > 30:
                done = sum(counts.values())
                print(f"{done:,}/{total:,} inputs, {done / (now - began):,.0f}/s, {len(crashes)} crashes",
                      file=sys.stderr, flush=True)
                last = now
    seconds = time.perf_counter() - began
    summary = {"inputs": sum(counts.values()), "seed": args.seed, "start": args.start, "jobs": args.jobs, "db_every": args.db_every,
               "seconds": round(seconds, 1), "per_second": round(sum(counts.values()) / seconds),
               "by_stage": summarize(counts), "crashes": len(crashes),
               "top_codes": dict(counts.most_common(12)), "crash_files": saved}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"{summary['inputs']:,} inputs (seed {args.seed}, from {args.start:,}) in {seconds:,.0f} s on {args.jobs} processes: "
              f"{summary['per_second']:,}/s")
        for stage, n in summary["by_stage"].items():
            print(f"  {stage:8} {n:>10,}")
        print(f"  most common outcomes: {', '.join(f'{k} {v:,}' for k, v in counts.most_common(8))}")
        print(f"crashes (non-diagnostic exceptions): {len(crashes)}")
        for crash, path in zip(crashes, saved):
            print(f"  input {crash['input']}{' (DuckDB)' if crash['db'] else ''}: {crash['error'][:160]} -> {path}")
    return 1 if crashes else 0


if __name__ == "__main__":
    sys.exit(main())
