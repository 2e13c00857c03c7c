"""segrules serve as a process (step 6): the HTTP server end to end, SIGKILL while batches are
being ingested and evaluated, then a restart: no acknowledged row lost, no change lost or
numbered twice, membership equal to the batch run; and the walk-through of docs/realtime.md.

Each test starts real server processes (import, plans, first membership: several seconds each on
a loaded machine): about 20-30 s each; the point is the process boundary (signals, a restart)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import segrules
from serve_helpers import TOKEN, batch_members, load, write_shop

ROOT = Path(__file__).resolve().parent.parent
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(db: Path, port: int, *extra: str, launcher: tuple[str, ...] = ("-m", "segrules.cli")) -> subprocess.Popen:
    env = {**os.environ, "SEGRULES_SERVE_TOKEN": TOKEN}
    process = subprocess.Popen([sys.executable, *launcher, "serve", "segment_specs/lifecycle.yaml",
                                "--db", str(db), "--port", str(port), "--sweep", "0", *extra],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            raise AssertionError(process.stdout.read().decode())
        time.sleep(0.1)
    process.kill()
    raise AssertionError("segrules serve did not get ready")


def test_serve_process_sigkill_during_ingest_then_restart_loses_nothing(tmp_path):
    db = write_shop(tmp_path, customers=40)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start(db, port)
    acknowledged = []
    try:
        for i in range(8):
            order = {"order_id": 770000 + i, "customer_id": 1 + i % 7, "ordered_at": "2026-09-30T10:00:00",
                     "amount": "300.00", "status": "paid"}
            r = httpx.post(f"{url}/v1/sources/orders", json=[order], headers=AUTH, timeout=10)
            if r.status_code == 200:
                acknowledged.append(order["order_id"])
            if i == 5:
                server.send_signal(signal.SIGKILL)  # mid-stream: some batches evaluated, some pending
                break
    except httpx.HTTPError:
        pass
    server.wait(10)
    assert acknowledged
    server = start(db, port)
    try:
        deadline = time.monotonic() + 30
        while httpx.get(f"{url}/ready", timeout=5).json()["pending"] and time.monotonic() < deadline:
            time.sleep(0.1)
        r = httpx.get(f"{url}/v1/changes", params={"follow": "false"}, headers=AUTH, timeout=30)
        seqs = [int(m) for m in re.findall(r"^id: (\d+)$", r.text, re.M)]
        assert seqs == list(range(1, len(seqs) + 1))  # none lost, none twice
        lookup = httpx.get(f"{url}/v1/members/1", headers=AUTH, timeout=5).json()
    finally:
        server.send_signal(signal.SIGTERM)  # graceful: uvicorn stops, the worker finishes its evaluation
        assert server.wait(30) == 0
    con = segrules.connect(str(db), read_only=True)
    stored = set(con.table("orders").filter(lambda t: t.order_id >= 770000).order_id.to_pyarrow().to_pylist())
    assert set(acknowledged) <= stored
    spec = load("lifecycle")
    members = con.table("serve_lifecycle_members").to_pyarrow()
    meta = {r["name"]: r["value"] for r in con.table("serve_lifecycle_meta").to_pyarrow().to_pylist()}
    now = segrules.api.parse_as_of(meta["now"])
    batch = batch_members(spec, con, now)
    assert {s: set(members.filter(members[s])["customer_id"].to_pylist()) for s in spec.segments} == batch
    assert lookup["features"]["orders_90d"] >= 1 and lookup["segments"] in (["new_customers"], ["active"])


def test_serve_process_docs_walkthrough_runs(tmp_path):
    """docs/realtime.md's walk-through, run as one bash script (a server in the background, curl
    against it, a graceful stop) on a free port, in a folder with the repository's specs."""
    import shutil

    import docs_commands as dc
    from serve_helpers import walkthrough

    shutil.copytree(ROOT / "segment_specs", tmp_path / "segment_specs")
    port = str(free_port())
    script = "set -e\n" + "\n".join(c.text.replace("8000", port) for c in walkthrough()) + "\n"
    result = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=dc.environment(tmp_path), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert '{"source":"events","rows":1,"batch":1}' in out
    assert '"key":42' in out and '"segments":[' in out and '"segment":"cart_abandoners","members":' in out
    assert "event: change" in out and "change-me-to-a-long-random-secret" not in out + result.stderr
