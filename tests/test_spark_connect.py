"""Spark Connect: pip's pyspark 4.0.5 ships the server (``pyspark/jars/spark-connect_*.jar``; no
``sbin/start-connect-server.sh``, so it is started with ``spark-submit --class
...SparkConnectServer``, as that script does). One local server per test run, started only when a
test here asks for it; a spec runs through ``--db sc://127.0.0.1:PORT`` and prints what it prints on
DuckDB. Costs about a minute on two shared cores: the server is a JVM of its own (~25 s to start),
the client uploads the demo shop and runs the spec over gRPC."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from parity_kit import _missing

ROOT = Path(__file__).resolve().parent.parent
SERVER = "org.apache.spark.sql.connect.service.SparkConnectServer"
START_SECONDS = 180


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def connect_url(tmp_path_factory):
    try:
        import grpc  # noqa: F401
        import pyspark
    except ImportError:
        _missing("pyspark with the Spark Connect client (grpcio) is not installed (pip install -e '.[spark]')")
    home = Path(pyspark.__file__).parent
    if not list((home / "jars").glob("spark-connect_*.jar")):
        _missing("this pyspark has no Spark Connect server jar")
    folder = tmp_path_factory.mktemp("connect")
    port = _free_port()
    log = open(folder / "server.log", "wb")
    server = subprocess.Popen(
        [str(home / "bin" / "spark-submit"), "--class", SERVER, "--master", "local[1]",
         "--conf", f"spark.connect.grpc.binding.port={port}", "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
         "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.memory=768m",
         "--conf", "spark.sql.shuffle.partitions=2", "--conf", f"spark.sql.warehouse.dir={folder / 'warehouse'}"],
        env={**os.environ, "SPARK_HOME": str(home)}, stdout=log, stderr=subprocess.STDOUT, cwd=folder,
        start_new_session=True)
    try:
        deadline = time.monotonic() + START_SECONDS
        while not _listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Spark Connect server did not start:\n"
                                   + (folder / "server.log").read_text(errors="replace")[-3000:])
            time.sleep(0.5)
        yield f"sc://127.0.0.1:{port}"
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # the server's own process group (spark-submit and its JVM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _segrules(*args: str, code: str | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", code, *args] if code else [sys.executable, "-m", "segrules.cli", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "COLUMNS": "100"})


def test_spark_connect_spec_runs_through_sc_url_with_duckdb_members(connect_url, tmp_path):
    from segrules.demo import write_demo_data

    shop = tmp_path / "shop.duckdb"
    write_demo_data(shop, customers=200, seed=9)
    upload = ("import sys, ibis, segrules; con = segrules.connect(sys.argv[1]); "
              "duck = ibis.duckdb.connect(sys.argv[2], read_only=True); "
              "[con.create_table(t, duck.table(t).to_pyarrow(), overwrite=True) for t in ('customers', 'orders', 'events')]; "
              "print(type(con._session).__module__)")
    loaded = _segrules(connect_url, str(shop), code=upload)
    assert loaded.returncode == 0, loaded.stderr[-3000:]
    assert loaded.stdout.strip() == "pyspark.sql.connect.session"  # a Connect client, not a local JVM
    rows = {}
    for name, db in (("duckdb", str(shop)), ("connect", connect_url)):
        out = tmp_path / f"{name}.csv"
        done = _segrules("run", "segment_specs/lifecycle.yaml", "--as-of", "2026-10-01", "--db", db, "--out", str(out))
        assert done.returncode == 0, done.stderr[-3000:]
        rows[name] = sorted(out.read_text().splitlines())
    assert rows["connect"] == rows["duckdb"] and len(rows["duckdb"]) > 100
