"""A stream source in a real ``segrules serve --stream`` process (the file-backed source of
tests/stream_plugin.py, loaded by its launcher), SIGKILLed while it ingests records, then
restarted with a consumer that cannot seek (it re-delivers from its own committed position):
every record is in the tables exactly once, and the membership equals the batch run.

Two server processes: about 15-30 s on a loaded machine; the point is the kill and the restart."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import httpx

import segrules
from serve_helpers import batch_members, load, write_shop
from stream_plugin import append
from test_serve_process import AUTH, free_port, start

LAUNCHER = (str(Path(__file__).with_name("stream_plugin.py")),)
RECORDS = 40


def ingested(url: str) -> float:
    text = httpx.get(f"{url}/metrics", headers=AUTH, timeout=10).text
    found = re.search(r'^segrules_serve_ingested_rows_total\{source="orders"\} ([0-9.e+]+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def test_serve_process_stream_sigkill_then_restart_exactly_once_into_the_tables(tmp_path):
    db = write_shop(tmp_path, customers=40)
    log = tmp_path / "log"
    log.mkdir()
    for p in ("p0", "p1"):
        append(log, p, [{"source": "orders", "row": {
            "order_id": 330000 + (p == "p1") * 1000 + i, "customer_id": 1 + i % 37, "ordered_at": "2026-09-30T10:00:00",
            "amount": "60.00", "status": "paid"}} for i in range(RECORDS // 2)])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    stream = ("--stream", "filelog", "--stream-option", f"path={log}", "--stream-option", "max=4",
              "--stream-option", "seek=no")
    server = start(db, port, *stream, launcher=LAUNCHER)
    try:
        deadline = time.monotonic() + 30
        while ingested(url) < 8 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ingested(url) >= 8
    finally:
        server.send_signal(signal.SIGKILL)  # mid-stream: some runs appended, maybe not yet committed
        server.wait(10)
    server = start(db, port, *stream, launcher=LAUNCHER)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            committed = [int((log / f"{p}.committed").read_text()) if (log / f"{p}.committed").exists() else -1
                         for p in ("p0", "p1")]
            if committed == [RECORDS // 2 - 1] * 2 and httpx.get(f"{url}/ready", timeout=5).json()["pending"] == 0:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the stream was not consumed")
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    con = segrules.connect(str(db), read_only=True)
    orders = con.table("orders").filter(lambda t: t.order_id >= 330000).order_id.to_pyarrow().to_pylist()
    assert sorted(orders) == sorted([330000 + i for i in range(RECORDS // 2)] +
                                    [331000 + i for i in range(RECORDS // 2)])  # each once
    meta = {r["name"]: r["value"] for r in con.table("serve_lifecycle_meta").to_pyarrow().to_pylist()}
    members = con.table("serve_lifecycle_members").to_pyarrow()
    spec = load("lifecycle")
    batch = batch_members(spec, con, segrules.api.parse_as_of(meta["now"]))
    assert {s: set(members.filter(members[s])["customer_id"].to_pylist()) for s in spec.segments} == batch
