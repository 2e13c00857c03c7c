"""``segrules serve`` under load: sustained ingest, event -> change-out latency, lookup latency,
and the same membership as a full recompute.

Set-up (not measured): the demo shop with ``--customers`` customers written with data up to the
current time (``segrules demo-data --wall-clock``), and a spec over it whose segment
``clicked_last_hour`` (``count(events where name == 'bench_click' within 1h) > 0``) every bench
event enters (each event goes to a customer without one), so each event has exactly one change to
wait for; plus the shop's own ``frequent_browsers``-style rules to evaluate alongside.

Measured, against a ``segrules serve`` process on this machine:

* ingest: ``--rate`` events/s for ``--seconds`` seconds, POSTed in batches every ``--batch-ms``;
* event -> change out: from just before the POST of an event's batch to the arrival of its
  ``enter`` change on the server-sent-events stream (``GET /v1/changes``), p50/p99/max;
* lookups: ``GET /v1/members/{key}`` of random customers from another process during the ingest
  (one every 10 ms), p50/p99;
* the evaluations (count, mean time, from the service's metrics) and the server's CPU seconds
  (all threads) from the first POST to the last change: steadier than wall times on a shared
  machine;
* afterwards, the stored membership against ``Spec.evaluate`` (a full recompute) at the service's
  last evaluation time, and 1,000 lookups and every segment's count (answered from the service's
  memory) against a full recompute at their ``as_of``: they must be equal, or the script fails.

    python bench/run_serve.py --customers 100000 --rate 500 --seconds 20
    python bench/run_serve.py --customers 1000000 --rate 5000 --seconds 60 --data /tmp/shop1m.duckdb

(``--data``: a shop written once with ``segrules demo-data FILE --customers N --wall-clock``, copied
per run; ``--profile FILE``: py-spy's collapsed stacks of the server during the ingest.)
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-token"
SPEC = """
version: 1
name: bench_serve
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
  events: {table: events, key: customer_id, time: ts}
segments:
  clicked_last_hour: {where: "count(events where name == 'bench_click' within 1h) > 0"}
  frequent_browsers: {where: "count(events where name == 'product_view' within 30d) >= 5"}
  big_spenders: {where: "sum(orders.amount where status == 'paid' within 90d) > 500"}
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))] if ordered else float("nan")


def look_up(url: str, auth: dict[str, str], customers: int, stop: Any, timings: Any) -> None:
    """Member lookups of random customers until ``stop``, one every 10 ms; their times go to
    ``timings`` (a process of its own: the bench's stream reader would share its GIL)."""
    lookups = []
    with httpx.Client(headers=auth) as client:
        while not stop.is_set():
            key = random.randint(1, customers)
            t = time.perf_counter()
            client.get(f"{url}/v1/members/{key}")
            lookups.append(time.perf_counter() - t)
            time.sleep(0.01)
    timings.put(lookups)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its threads so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid: int) -> float:
    """The peak resident memory of process ``pid`` so far (Linux /proc), MiB."""
    try:
        line = next(x for x in Path(f"/proc/{pid}/status").read_text().splitlines() if x.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return float("nan")
    return int(line.split()[1]) / 1024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rate", type=int, default=500, help="events per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--batch-ms", type=int, default=100, help="one POST every this many milliseconds")
    parser.add_argument("--data", type=Path, help="copy this demo shop (written with the same --customers and "
                        "--wall-clock) instead of writing a new one (the 1M shop takes a while)")
    parser.add_argument("--profile", type=Path, help="record the server with py-spy into this file (collapsed stacks)")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    import segrules
    from segrules.demo import write_demo_data

    tmp = Path(tempfile.mkdtemp(prefix="bench_serve_"))
    db, spec_path = tmp / "shop.duckdb", tmp / "bench_serve.yaml"
    if args.data:
        shutil.copy(args.data, db)
    else:
        write_demo_data(db, customers=args.customers, now=None)
    spec_path.write_text(SPEC)
    port = free_port()
    url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {TOKEN}"}
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "segrules.cli", "serve", str(spec_path), "--db", str(db),
                               "--port", str(port), "--sweep", "0"], cwd=ROOT,
                              env={**os.environ, "SEGRULES_SERVE_TOKEN": TOKEN})
    try:
        while True:
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None:
                raise SystemExit("segrules serve exited")
            time.sleep(0.2)
        print(f"start-up (plans, first membership of {args.customers:,} customers): "
              f"{time.perf_counter() - started:.1f} s")
        sent: dict[str, float] = {}
        arrived: dict[str, float] = {}
        stop = threading.Event()

        end = httpx.get(f"{url}/ready").json()["changes"]  # the stream starts after the first membership

        def stream() -> None:
            with httpx.stream("GET", f"{url}/v1/changes", params={"after": end}, headers=auth,
                              timeout=None) as r:
                for line in r.iter_lines():
                    if line.startswith("data: "):
                        change = json.loads(line[6:])
                        if change["segment"] == "clicked_last_hour" and change["kind"] == "enter":
                            arrived.setdefault(change["key"], time.perf_counter())
                    if stop.is_set() and len(arrived) >= len(sent):
                        return

        spawn = multiprocessing.get_context("spawn")
        stop_lookups, timings = spawn.Event(), spawn.Queue()
        looker = spawn.Process(target=look_up, args=(url, auth, args.customers, stop_lookups, timings), daemon=True)
        looker.start()
        reader = threading.Thread(target=stream, daemon=True)
        reader.start()
        spy = subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "--threads", "--idle", "--format", "raw", "-o",
                                str(args.profile), "--pid", str(server.pid), "--duration",
                                str(int(args.seconds) + 3)]) if args.profile else None
        keys = random.sample(range(1, args.customers + 1), min(args.customers, int(args.rate * args.seconds)))
        per_batch = max(1, args.rate * args.batch_ms // 1000)
        event_id, t0, cpu0 = 10**12, time.perf_counter(), cpu_seconds(server.pid)
        with httpx.Client(headers=auth, timeout=30) as client:
            for i in range(0, len(keys), per_batch):
                due = t0 + (i // per_batch) * args.batch_ms / 1000
                time.sleep(max(0.0, due - time.perf_counter()))
                ts = datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
                batch = [{"event_id": event_id + j, "customer_id": k, "ts": ts, "name": "bench_click"}
                         for j, k in enumerate(keys[i:i + per_batch])]
                event_id += len(batch)
                now = time.perf_counter()
                r = client.post(f"{url}/v1/events", json=batch)
                r.raise_for_status()
                sent.update((str(k), now) for k in keys[i:i + per_batch])
        ingest_seconds = time.perf_counter() - t0
        if spy is not None:
            spy.wait()
        deadline = time.perf_counter() + 120
        while len(arrived) < len(sent) and time.perf_counter() < deadline:
            time.sleep(0.05)
        stop.set()
        stop_lookups.set()
        lookups = timings.get(timeout=60)
        looker.join(10)
        cpu, wall = cpu_seconds(server.pid) - cpu0, time.perf_counter() - t0
        served = {line.split()[0]: float(line.split()[1]) for line in httpx.get(f"{url}/metrics", headers=auth).text
                  .splitlines() if line and not line.startswith("#")}
        evaluations = served.get("segrules_serve_evaluations_total", 0.0)
        latencies = [arrived[k] - sent[k] for k in sent if k in arrived]
        print(f"ingest: {len(sent):,} events in {ingest_seconds:.1f} s ({len(sent) / ingest_seconds:,.0f}/s)")
        print(f"event -> change out: p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
              f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms "
              f"({len(latencies):,} of {len(sent):,} changes arrived)")
        print(f"evaluations: {evaluations:,.0f}, mean "
              f"{served.get('segrules_serve_evaluation_seconds_sum', 0.0) / max(evaluations, 1) * 1000:.0f} ms, "
              f"failed {served.get('segrules_serve_evaluation_errors_total', 0.0):,.0f}")
        print(f"server CPU: {cpu:.1f} s in {wall:.1f} s ({cpu / wall:.2f} cores; load average "
              f"{os.getloadavg()[0]:.1f}); peak memory {peak_rss_mib(server.pid):,.0f} MiB")
        print(f"lookups: {len(lookups):,}, p50 {percentile(lookups, 0.5) * 1000:.1f} ms, "
              f"p99 {percentile(lookups, 0.99) * 1000:.1f} ms, max {max(lookups) * 1000:.1f} ms")
        answers = final_answers(url, auth, args.customers, segrules.load(spec_path).segments)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    con = segrules.connect(str(db), read_only=True)
    spec = segrules.load(spec_path)
    meta = {r["name"]: r["value"] for r in con.table("serve_bench_serve_meta").to_pyarrow().to_pylist()}
    wide = spec.evaluate(con, as_of=meta["now"]).to_pyarrow()
    stored = con.table("serve_bench_serve_members").to_pyarrow()
    same = all(set(wide.filter(wide[s])["customer_id"].to_pylist()) ==
               set(stored.filter(stored[s])["customer_id"].to_pylist()) for s in spec.segments)
    print(f"same membership as a full recompute at {meta['now']}: {'yes' if same else 'NO'}")
    agree = answers_agree(answers, spec, con)
    print(f"lookups and counts after the run ({len(answers['members']):,} keys, as of {answers['as_of']}) equal a "
          f"full recompute: {'yes' if agree else 'NO'}")
    con.disconnect()
    shutil.rmtree(tmp, ignore_errors=True)
    return 0 if same and agree and len(latencies) == len(sent) else 1


def final_answers(url: str, auth: dict[str, str], customers: int, segments: list[str]) -> dict[str, Any]:
    """Once nothing is pending: the answers of 1,000 random lookups and every segment's count, all
    of one evaluation (asked again if a time-driven evaluation came in between)."""
    while httpx.get(f"{url}/ready").json()["pending"]:
        time.sleep(0.05)
    keys = random.sample(range(1, customers + 1), min(customers, 1000))
    with httpx.Client(headers=auth) as client:
        while True:
            first = client.get(f"{url}/v1/members/{keys[0]}").json()["as_of"]
            counts = {s: client.get(f"{url}/v1/segments/{s}/count").json()["members"] for s in segments}
            members = {k: client.get(f"{url}/v1/members/{k}").json() for k in keys}
            if {m["as_of"] for m in members.values()} == {first}:
                return {"as_of": first, "members": members, "counts": counts}


def answers_agree(answers: dict[str, Any], spec: Any, con: Any) -> bool:
    """The lookups and counts the service gave equal a full recompute at their ``as_of``."""
    wide = spec.evaluate(con, as_of=answers["as_of"]).to_pyarrow()
    rows = {r["customer_id"]: r for r in wide.to_pylist()}
    for key, answer in answers["members"].items():
        want = {"key": key, "as_of": answers["as_of"], "segments": [s for s in spec.segments if rows[key][s]],
                "features": {}}
        if answer != want:
            print(f"lookup of {key}: {answer}, recomputed: {want}")
            return False
    return all(answers["counts"][s] == sum(1 for r in rows.values() if r[s]) for s in spec.segments)

if __name__ == "__main__":
    sys.exit(main())
