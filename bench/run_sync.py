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

* ``send:<destination>`` (with ``--send``): the churn actually delivered — plan and deliver to
  the destination's local emulator (``tests/emulators``, served by the parent process), from an
  acknowledged state holding the 1M members; the requests it took vs the theoretical minimum for
  the vendor's batch limits (events per request and bytes per request, whichever binds), and the
  wall time.  The emulator must end holding exactly the churn.

    nice python bench/run_sync.py --members 1000000 --churn 0.01 --repeat 3
    nice python bench/run_sync.py --members 1000000 --churn 0.01 --repeat 3 --send segment,rudderstack
    nice python bench/run_sync.py --members 1000000 --churn 0.01 --repeat 3 --send customerio,iterable,sendgrid,google_ads,meta
    nice python bench/run_sync.py --members 1000000 --churn 0.01 --repeat 1 --send klaviyo,hubspot,mailchimp,mailchimp_tag,braze,webhook
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
  segment: {type: segment, write_key: "${BENCH_KEY}", base_url: "${BENCH_URL}", timeout: 120}
  rudderstack: {type: rudderstack, write_key: "${BENCH_KEY}", data_plane_url: "${BENCH_URL}", timeout: 120}
{vendor_destinations}syncs:
  active_hook:
    segment: active
    destination: hook
    identify_by: email
    fields: {first_name: first_name, ltv: ltv}
  active_segment:
    segment: active
    destination: segment
    identify_by: email
    fields: {first_name: first_name, ltv: ltv}
  active_rudderstack:
    segment: active
    destination: rudderstack
    identify_by: email
    fields: {first_name: first_name, ltv: ltv}
"""
KEY = "bench-write-key"
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/sync_vendors.py
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the emulators
from sync_vendors import DESTINATIONS_YAML, NAMES, OWN_STATE, SYNCS_YAML  # noqa: E402

SPEC = SPEC.replace("{vendor_destinations}", DESTINATIONS_YAML) + SYNCS_YAML


def _tracking_minimum(emulator) -> dict:
    """The fewest requests the tracking API's limits allow for what was sent: 2,500 events and
    500 KB per request, whichever binds; over all events (a batch may mix removals and additions)
    and per operation (segrules sends removals first, then additions, never mixed)."""
    def fewest(bodies: list[bytes]) -> int:
        events = sum(len(json.loads(b)["batch"]) for b in bodies)
        return max(-(-events // 2_500), -(-sum(len(b) for b in bodies) // 500_000))

    by_op: dict[str, list[bytes]] = {}
    for r in emulator.log:
        first = json.loads(r.body)["batch"][0]
        op = first.get("event") or str((first.get("traits") or {}).get("active"))
        by_op.setdefault(op, []).append(r.body)
    return {"events": sum(emulator.batch_sizes), "minimum": fewest([r.body for r in emulator.log]),
            "minimum_per_op": sum(fewest(b) for b in by_op.values())}


def _tracking_check(emulator, facts: dict, full: bool) -> bool:
    """The emulator holds exactly the churn (the joiners true, the leavers false), or after a full
    send every member true."""
    values = [t.get("active") for t in emulator.traits.values()]
    if full:
        return values.count(True) == facts["acknowledged"] and len(values) == facts["acknowledged"]
    return values.count(True) == facts["join"] and values.count(False) == facts["leave"]


def _tracking(name: str):
    from emulators import TrackingEmulator
    return {"sync": f"active_{name}", "emulator": lambda: TrackingEmulator(KEY),
            "minimum": _tracking_minimum, "check": _tracking_check}


# destination -> how to bench it: the sync, its emulator, the minimum requests, the end state check
DESTINATIONS = {"segment": lambda: _tracking("segment"), "rudderstack": lambda: _tracking("rudderstack")}
DESTINATIONS.update({name: (lambda name=name: _vendor(name)) for name in NAMES})  # bench/sync_vendors.py


def _vendor(name: str) -> dict:
    from sync_vendors import destination
    return destination(name, KEY)


def _people(n: int, members: int, seed: int):
    import numpy as np
    import pyarrow as pa
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n + 1, dtype=np.int64)
    score = np.where(rng.permutation(n) < members, rng.integers(50, 100, n), rng.integers(0, 50, n))
    return pa.table({"id": ids, "email": pa.array([f"user{i}@example.com" for i in ids]),
                     "first_name": pa.array([f"N{i % 997}" for i in ids]), "score": score.astype(np.int64)})


def _open(workdir: Path, sync: str = "active_hook", url: str = "http://127.0.0.1:9", state: str = "state.duckdb"):
    import segrules
    from segrules.state import open_state
    from segrules.sync import SyncRun, plan_syncs
    spec = segrules.load(workdir / "spec.yaml")
    con = segrules.connect(str(workdir / "people.duckdb"), read_only=True)
    planned = plan_syncs(spec.document, ["id", "email", "first_name", "score"], spec.registry.destinations, [sync],
                         env={"BENCH_KEY": KEY, "BENCH_URL": url})
    return spec, con, SyncRun(spec, con, open_state(workdir / state), planned, as_of="2026-11-01")


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
    acknowledged = [{"key": k, "identifier": i, "hash": h, "status": "ok"}
                    for k, i, h in zip(adds["key"].to_pylist(), adds["identifier"].to_pylist(), adds["hash"].to_pylist())]
    for sync in ("active_hook", *(f"active_{name}" for name in DESTINATIONS if name not in OWN_STATE)):
        run.state.record("setup", sync, "add", acknowledged)  # same fields: same hashes
    con.disconnect()
    run.state.store.con.disconnect()
    for name in OWN_STATE:  # hashed identifiers: acknowledged from the sync's own plan
        _, con, own = _open(workdir, f"active_{name}")
        (outcome,) = own.plan()
        adds = own.diffs[f"active_{name}"].ops["add"]
        own.state.record("setup", f"active_{name}", "add", [
            {"key": k, "identifier": i, "hash": h, "status": "ok"}
            for k, i, h in zip(adds["key"].to_pylist(), adds["identifier"].to_pylist(), adds["hash"].to_pylist())])
        con.disconnect()
        own.state.store.con.disconnect()
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


def worker(variant: str, workdir: Path, url: str = "") -> None:
    if variant.startswith("send:"):
        name = variant.partition(":")[2]
        spec, con, run = _open(workdir, f"active_{name}", url, state=f"state-{name}.duckdb")
    else:
        spec, con, run = _open(workdir)
    started = time.perf_counter()  # the work only: not the imports, spec loading or connecting
    if variant.startswith("send:"):
        outcomes = run.deliver(run.plan())
        o = outcomes[0]
        counts = {k: o.counts[k] for k in ("added", "removed", "updated", "rejected")}
        counts.update(status=str(o.status), requests=o.requests, error=o.error)
    elif variant == "evaluate":
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
    parser.add_argument("--send", default="", metavar="A,B", help=f"also deliver the churn to these emulators "
                        f"({', '.join(DESTINATIONS)})")
    parser.add_argument("--full-send", action="store_true", help="with --send: also deliver the whole audience "
                        "once, from an empty state (a first sync)")
    args = parser.parse_args()
    sends = [d for d in args.send.split(",") if d]
    unknown = [d for d in sends if d not in DESTINATIONS]
    if unknown:
        parser.error(f"--send: unknown destination {', '.join(unknown)} (known: {', '.join(DESTINATIONS)})")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the emulators
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
        sent = {name: _send(workdir, name, facts, args.repeat) for name in sends}
        if args.full_send:
            sent.update({f"{name}, full send": _send(workdir, name, facts, 1, full=True) for name in sends})
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
    if sent:
        print("\n| destination | requests | minimum, ops mixed | minimum, per op | events | median wall s "
              "(plan + deliver) | holds exactly the churn |\n| --- | ---: | ---: | ---: | ---: | ---: | --- |")
        for name, r in sent.items():
            print(f"| {name} | {r['requests']} | {r['minimum']} | {r['minimum_per_op']} | {r['events']:,} | "
                  f"{r['seconds']:.2f} | {'yes' if r['exact'] else 'NO'} |")
            ok = ok and r["exact"] and r["status"] == "ok"
    sys.exit(0 if ok else 1)


def _send(workdir: Path, name: str, facts: dict, repeat: int, full: bool = False) -> dict:
    """Deliver the churn to ``name``'s emulator ``repeat`` times, each from the same acknowledged
    state (a copy), in a worker process; the emulator runs here, in a thread.  ``full``: the whole
    audience, from an empty state."""
    import shutil
    bench = DESTINATIONS[name]()
    runs = []
    for _ in range(repeat):
        (workdir / f"state-{name}.duckdb").unlink(missing_ok=True)
        if not full:
            shutil.copy(workdir / "state.duckdb", workdir / f"state-{name}.duckdb")
        with bench["emulator"]() as emulator:
            out = subprocess.run([sys.executable, __file__, "worker", f"send:{name}", str(workdir), emulator.url],
                                 capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            counts = result["counts"]
            runs.append({"seconds": result["seconds"], "requests": len(emulator.log), "status": counts["status"],
                         "exact": bench["check"](emulator, facts, full), **bench["minimum"](emulator)})
            if not bench.get("calls_per_batch"):  # one HTTP request per batch (the tracking API)
                assert counts["requests"] == len(emulator.log), (counts, len(emulator.log))
    last = runs[-1]
    return {**last, "seconds": statistics.median(r["seconds"] for r in runs), "exact": all(r["exact"] for r in runs)}


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2], Path(sys.argv[3]), *sys.argv[4:5])
    else:
        main()
