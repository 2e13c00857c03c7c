"""SIGKILL during delivery, real process (issue 18 faults): ``segrules serve --webhook`` against a
local HTTP receiver that records every delivery and can stall or be down. The server is killed
while a delivery hangs, restarted during a receiver outage (the backlog grows), and the receiver
comes back (the backlog drains): every recorded change reached the receiver at least once (the
change ids, de-duplicated, are exactly the recorded ones, each delivery in seq order), no
acknowledged row is lost, and replaying the delivered changes gives the batch run's membership,
which is also the last history snapshot (``--snapshot``).

Two server processes (start-up: import, plans, first membership): about 20-30 s on a loaded
machine; the point is the process boundary (a real SIGKILL and a restart)."""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

import segrules
from segrules.history.session import history
from serve_helpers import batch_members, load, write_shop
from test_serve_process import AUTH, free_port, start


class Receiver:
    """A webhook receiver on 127.0.0.1: records each request's changes when it arrives; while
    ``stall`` is set it holds the answer until ``release``; while ``down`` it answers 503."""

    def __init__(self):
        self.deliveries: list[list[dict]] = []
        self.stall, self.release, self.down = threading.Event(), threading.Event(), threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.down.is_set():
                    self.send_response(503)
                    self.end_headers()
                    return
                receiver.deliveries.append(json.loads(body)["changes"])
                if receiver.stall.is_set():
                    receiver.release.wait(60)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:  # the sender was killed while we stalled
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def ids(self) -> list[str]:
        return [c["change_id"] for d in self.deliveries for c in d]


def metric(url: str, name: str, outlet: str = "webhook") -> float:
    text = httpx.get(f"{url}/metrics", headers=AUTH, timeout=10).text
    found = re.search(rf'^{name}{{outlet="{outlet}"}} ([0-9.e+]+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def caught_up(url: str) -> bool:
    """Nothing pending, and both outlets' cursors at the last change."""
    ready = httpx.get(f"{url}/ready", timeout=5).json()
    return ready["pending"] == 0 and all(metric(url, "segrules_serve_delivered_seq", outlet) == ready["changes"]
                                         for outlet in ("webhook", "history"))


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def post_order(url: str, i: int) -> int | None:
    order = {"order_id": 550000 + i, "customer_id": 1 + i % 9, "ordered_at": "2026-09-30T10:00:00",
             "amount": "400.00", "status": "paid"}
    r = httpx.post(f"{url}/v1/sources/orders", json=[order], headers=AUTH, timeout=10)
    return order["order_id"] if r.status_code == 200 else None


def test_serve_process_sigkill_during_delivery_then_outage_drains(tmp_path):
    db = write_shop(tmp_path, customers=40)
    receiver = Receiver()
    receiver.stall.set()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    options = ("--webhook", receiver.url, "--snapshot", "--snapshot-every", "0", "--state", str(tmp_path / "state.duckdb"))
    server = start(db, port, *options)
    acknowledged = []
    try:
        wait_for(lambda: receiver.deliveries, 30, "the first delivery")  # it hangs in the receiver now
        acknowledged += [post_order(url, i) for i in range(3)]
        time.sleep(0.5)  # the worker records their changes
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(10)
    stalled = len(receiver.deliveries)
    receiver.down.set()  # restart into an outage
    receiver.stall.clear()
    receiver.release.set()
    server = start(db, port, *options)
    try:
        acknowledged += [post_order(url, i) for i in range(3, 6)]
        wait_for(lambda: metric(url, "segrules_serve_delivery_failures_total") >= 1, 30, "a failed delivery")
        assert metric(url, "segrules_serve_delivery_backlog") > 0 and len(receiver.deliveries) == stalled
        receiver.down.clear()
        wait_for(lambda: caught_up(url), 60, "the backlog to drain")
        assert metric(url, "segrules_serve_delivery_backlog") == 0
        r = httpx.get(f"{url}/v1/changes", params={"follow": "false"}, headers=AUTH, timeout=30)
        recorded = [json.loads(m) for m in re.findall(r"^data: (.*)$", r.text, re.M)]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(30) == 0
    assert None not in acknowledged
    assert [c["seq"] for c in recorded] == list(range(1, len(recorded) + 1))
    received = receiver.ids()
    assert set(received) == {c["change_id"] for c in recorded}  # every change at least once, nothing else
    assert len(received) > len(set(received))  # the batch killed mid-delivery came again
    for delivery in receiver.deliveries:  # each delivery in seq order, without gaps
        seqs = [c["seq"] for c in delivery]
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    members: dict[str, set] = {}
    for change in {c["change_id"]: c for d in receiver.deliveries for c in d}.values():
        members.setdefault(change["segment"], set())
    for change in sorted({c["change_id"]: c for d in receiver.deliveries for c in d}.values(),
                         key=lambda c: c["seq"]):
        (members[change["segment"]].add if change["kind"] == "enter" else members[change["segment"]].discard)(
            int(change["key"]))
    con = segrules.connect(str(db), read_only=True)
    t = con.table("orders")
    assert set(acknowledged) <= set(t.filter(t.order_id >= 550000).order_id.to_pyarrow().to_pylist())
    meta = {r["name"]: r["value"] for r in con.table("serve_lifecycle_meta").to_pyarrow().to_pylist()}
    batch = batch_members(load("lifecycle"), con, segrules.api.parse_as_of(meta["now"]))
    assert {s: members.get(s, set()) for s in batch} == batch
    # --snapshot: the last snapshot is that membership, taken at the last evaluation with changes
    # (a later one without changes moves meta's now, not the history cursor)
    assert int(meta["history"]) == max(c["seq"] for c in recorded)
    with history(str(tmp_path / "state.duckdb")) as store:
        run = store.resolve("lifecycle")
        snap = {(r["segment"], r["key"]) for r in store.members(run.run_id).to_pyarrow().to_pylist()}
    assert snap == {(s, str(k)) for s, keys in batch.items() for k in keys}
    assert run.as_of <= segrules.api.parse_as_of(meta["now"])
    at_snapshot = batch_members(load("lifecycle"), con, run.as_of)
    assert snap == {(s, str(k)) for s, keys in at_snapshot.items() for k in keys}
    con.disconnect()
