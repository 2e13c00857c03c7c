"""Audience sync: diff + dry run of a 1M-member audience with 1% churn.

Set-up (not measured): a people table with ``--members`` members of one segment, an acknowledged
sync state holding exactly that audience (as after a successful sync), then ``--churn`` of the
members leave and as many others join.  Measured, each in a fresh process (so its peak RSS is
its own), round-robin over ``--repeat`` runs:

* ``evaluate`` (the baseline): the audience alone — the spec's one query (segment, identifier and
  fields) materialised to Arrow, as ``segrules run --out`` would;
* ``dry_run``: ``segrules sync --dry-run``'s work — the same audience, identifier checks, field
  hashes, and the diff against the acknowledged state in the state store (adds, removes,
  updates, rejected, retried counts, samples).

    nice python bench/run_sync.py --members 1000000 --churn 0.01 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """\
version: 1
name: bench_sync
entity: {table: people, key: id}
features:
  ltv: score * 10
segments:
  active:
    where: score >= 50
destinations:
  hook: {type: webhook, url: "http://127.0.0.1:9/unused"}
syncs:
  active_hook:
    segment: active
    destination: hook
    identify_by: email
    fields: {first_name: first_name, ltv: ltv}
"""


def _people(n: int, members: int, seed: int):
    import numpy as np
    import pyarrow as pa
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n + 1, dtype=np.int64)
    score = np.where(rng.permutation(n) < members, rng.integers(50, 100, n), rng.integers(0, 50, n))
    return pa.table({"id": ids, "email": pa.array([f"user{i}@example.com" for i in ids]),
                     "first_name": pa.array([f"N{i % 997}" for i in ids]), "score": score.astype(np.int64)})


def _open(workdir: Path):
    import segrules
    from segrules.state import open_state
    from segrules.sync import SyncRun, plan_syncs
    spec = segrules.load(workdir / "spec.yaml")
    con = segrules.connect(str(workdir / "people.duckdb"), read_only=True)
    planned = plan_syncs(spec.document, ["id", "email", "first_name", "score"], spec.registry.destinations, env={})
    return spec, con, SyncRun(spec, con, open_state(workdir / "state.duckdb"), planned, as_of="2026-11-01")


def setup(workdir: Path, n: int, members: int, churn: float, seed: int) -> dict:
    import ibis
    import pyarrow as pa
    (workdir / "spec.yaml").write_text(SPEC)
    table = _people(n, members, seed)
    con = ibis.duckdb.connect(str(workdir / "people.duckdb"))
    con.create_table("people", table, overwrite=True)
    con.disconnect()
    _, con, run = _open(workdir)
    (outcome,) = run.plan()
    adds = run.diffs["active_hook"].ops["add"]
    run.state.record("setup", "active_hook", "add", [
        {"key": k, "identifier": i, "hash": h, "status": "ok"}
        for k, i, h in zip(adds["key"].to_pylist(), adds["identifier"].to_pylist(), adds["hash"].to_pylist())])
    con.disconnect()
    run.state.store.con.disconnect()
    # churn: as many members leave as non-members join
    rng = random.Random(seed)
    score = table["score"].to_pylist()
    inside = [i for i, s in enumerate(score) if s >= 50]
    outside = [i for i, s in enumerate(score) if s < 50]
    k = int(members * churn / 2)
    for i in rng.sample(inside, k):
        score[i] = 10
    for i in rng.sample(outside, k):
        score[i] = 90
    table = table.set_column(3, "score", pa.array(score, pa.int64()))
    con = ibis.duckdb.connect(str(workdir / "people.duckdb"))
    con.create_table("people", table, overwrite=True)
    con.disconnect()
    return {"acknowledged": adds.num_rows, "leave": k, "join": k}


def worker(variant: str, workdir: Path) -> None:
    spec, con, run = _open(workdir)
    started = time.perf_counter()  # the work only: not the imports, spec loading or connecting
    if variant == "evaluate":
        from segrules.sync.audience import evaluate_audiences
        table = evaluate_audiences(spec, con, run.planned, as_of="2026-11-01")
        counts = {"members": table.num_rows}
    else:
        (o,) = run.plan()
        counts = {k: o.counts[k] for k in ("added", "removed", "updated", "rejected")}
    seconds = time.perf_counter() - started
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"variant": variant, "seconds": seconds, "rss_mib": rss, "counts": counts}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--people", type=int, default=None, help="universe size (default 1.5 x members)")
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    n = args.people or int(args.members * 1.5)
    with tempfile.TemporaryDirectory(prefix="segrules-bench-sync-") as tmp:
        workdir = Path(tmp)
        t = time.perf_counter()
        facts = setup(workdir, n, args.members, args.churn, args.seed)
        print(f"set-up: {n:,} people, {facts['acknowledged']:,} acknowledged members, {facts['leave']:,} leave and "
              f"{facts['join']:,} join ({time.perf_counter() - t:.0f} s, not measured)")
        results: dict[str, list[dict]] = {"evaluate": [], "dry_run": []}
        for _ in range(args.repeat):
            for variant in results:
                out = subprocess.run([sys.executable, __file__, "worker", variant, str(workdir)],
                                     capture_output=True, text=True, check=True)
                results[variant].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"\n| variant | median s | peak RSS MiB | counts |\n| --- | ---: | ---: | --- |")
    med = {}
    for variant, runs in results.items():
        med[variant] = statistics.median(r["seconds"] for r in runs)
        print(f"| {variant} | {med[variant]:.2f} | {max(r['rss_mib'] for r in runs):.0f} | {runs[-1]['counts']} |")
    print(f"\ndry_run / evaluate: {med['dry_run'] / med['evaluate']:.2f}")
    last = results["dry_run"][-1]["counts"]
    expected = facts["leave"]
    ok = last["added"] == expected and last["removed"] == expected and last["updated"] == 0
    print("diff counts match the churn" if ok else f"MISMATCH: expected {expected} adds and removes, got {last}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
