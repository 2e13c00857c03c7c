"""The Spark backend: URLs and targets (no Spark needed), then on the test run's one SparkSession
(conftest ``spark_con``): in-memory tables keep their nulls, ``compile --dialect spark`` is SQL
Spark runs with the same members, ``--db pyspark://`` with settings, and a warehouse directory
that keeps its tables for the next process."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import ibis
import pyarrow as pa
import pytest
from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules.errors import BackendError
from segrules.run.spark import target_from_url
from segrules.run.targets import SparkTarget, describe, from_url

NOW = datetime(2026, 11, 1, 6, 30)


def test_spark_url_local_master_database_and_settings():
    target = target_from_url("pyspark://?master=local[2]&database=shop&spark.sql.shuffle.partitions=3")
    assert target == SparkTarget(master="local[2]", database="shop", settings=(("spark.sql.shuffle.partitions", "3"),))


def test_spark_url_warehouse_directory_gets_its_own_metastore(tmp_path):
    settings = dict(target_from_url(f"pyspark://{tmp_path}/wh").settings)
    assert settings["spark.sql.warehouse.dir"] == str(tmp_path / "wh")
    assert settings["spark.sql.catalogImplementation"] == "hive"
    assert f"databaseName={tmp_path / 'wh' / 'metastore_db'}" in settings["spark.hadoop.javax.jdo.option.ConnectionURL"]


def test_spark_url_standalone_master_and_spark_connect_with_a_secret_token():
    assert target_from_url("spark://node1:7077?catalog=main").master == "spark://node1:7077"
    target = target_from_url("sc://dbc.example:443/;use_ssl=true;token=dapiSECRET;database=shop;spark.sql.ansi.enabled=true")
    assert target.remote == "sc://dbc.example:443/;use_ssl=true" and target.database == "shop"
    assert target.token.reveal() == "dapiSECRET" and dict(target.settings) == {"spark.sql.ansi.enabled": "true"}
    assert "dapiSECRET" not in describe(target) and "dapiSECRET" not in describe(
        "sc://dbc.example:443/;use_ssl=true;token=dapiSECRET")


def test_spark_url_that_is_not_a_spark_setting_is_sr701(monkeypatch):
    result = CliRunner().invoke(main, ["run", "segment_specs/lifecycle.yaml", "--db", "pyspark://?shuffle=2"])
    assert result.exit_code != 0 and "error[SR701]" in result.output and "not a Spark setting" in result.output
    with pytest.raises(BackendError, match="two masters"):
        target_from_url("spark://a:7077?master=local[2]")
    assert from_url("pyspark://").type == "url"  # the url connector hands it to run/spark.py


def test_spark_without_pyspark_installed_is_sr701_naming_the_extra(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyspark" else real(name, *a))
    result = CliRunner().invoke(main, ["run", "segment_specs/lifecycle.yaml", "--db", "pyspark://?master=local[1]"])
    assert result.exit_code != 0 and "error[SR701]" in result.output and "pyspark is not installed" in result.output
    assert "pip install 'segrules[spark]'" in result.output and "Traceback" not in result.output


def test_spark_compile_unknown_to_ibis_dialect_is_sr111():
    result = CliRunner().invoke(main, ["compile", "segment_specs/lifecycle.yaml", "--dialect", "hive"])
    assert result.exit_code == 2 and "error[SR111]" in result.output and "no SQL compiler" in result.output


def test_spark_memtable_keeps_null_strings_and_integers(spark_con):
    table = pa.table({"s": pa.array(["x", None, ""]), "n": pa.array([1, None, 3], pa.int64()),
                      "t": pa.array([None, datetime(2026, 1, 1, 5), None], pa.timestamp("us"))})
    back = spark_con.to_pyarrow(ibis.memtable(table))
    assert back.to_pylist() == table.to_pylist()


@pytest.fixture(scope="module")
def spark_shop(spark_con, tmp_path_factory):
    from segrules.demo import write_demo_data

    path = tmp_path_factory.mktemp("sparkshop") / "shop.duckdb"
    write_demo_data(path, customers=200, seed=3, now=NOW)
    duck = ibis.duckdb.connect(str(path), read_only=True)
    for name in ("customers", "orders", "events"):
        spark_con.create_table(name, duck.table(name).to_pyarrow(), overwrite=True)
    yield duck, spark_con
    duck.disconnect()


def test_spark_compile_dialect_spark_is_sql_spark_runs_with_the_same_members(spark_shop):
    duck, spark = spark_shop
    result = CliRunner().invoke(main, ["compile", "segment_specs/lifecycle.yaml", "--dialect", "spark",
                                       "--as-of", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    rows = spark._session.sql(result.output).toPandas()
    spec = segrules.load("segment_specs/lifecycle.yaml")
    expected = spec.evaluate(duck, as_of=NOW, features=[]).to_pandas()
    for segment in spec.segments:
        assert sorted(rows.customer_id[rows[segment]]) == sorted(expected.customer_id[expected[segment]])


def test_spark_cli_run_with_db_url_settings(spark_shop):
    duck, _ = spark_shop
    result = CliRunner().invoke(main, ["run", "segment_specs/lifecycle.yaml", "--as-of", NOW.isoformat(), "--db",
                                       "pyspark://?master=local[2]&spark.sql.shuffle.partitions=2"])
    assert result.exit_code == 0, result.output
    expected = segrules.load("segment_specs/lifecycle.yaml").evaluate(duck, as_of=NOW, features=[]).to_pyarrow()
    line = next(line for line in result.output.splitlines() if " active " in f" {line.strip('│ ')} ")
    assert f"│ {sum(expected['active'].to_pylist()):>7,}" in line, result.output


def test_spark_running_session_refuses_other_static_settings(spark_con):
    with pytest.raises(BackendError, match="already running"):
        segrules.connect("pyspark://?spark.sql.catalogImplementation=hive")


def test_spark_warehouse_keeps_tables_for_the_next_process(tmp_path):
    """Two processes (a session per process): the second sees the table the first wrote. Two JVM
    starts (~20 s each on 2 cores): persistence across processes cannot be shown in one."""
    url = f"pyspark://{tmp_path}/wh?master=local[1]&spark.ui.enabled=false"
    code = ("import sys, segrules, pyarrow as pa; con = segrules.connect(sys.argv[1]); "
            "sys.argv[2] == 'write' and con.create_table('kept', pa.table({'a': [1, 2]})); "
            "print(sorted(con.table('kept').to_pyarrow()['a'].to_pylist()))")
    for step in ("write", "read"):
        out = subprocess.run([sys.executable, "-c", code, url, step], capture_output=True, text=True, timeout=300)
        assert out.stdout.strip().endswith("[1, 2]"), out.stderr[-2000:]


def test_spark_stages_flags_a_single_task_stage_reading_many_shuffle_rows(tmp_path):
    """bench/spark_stages.py on a hand-written event log: a one-task stage fed by a big shuffle
    fails the check; many tasks, or one task over a small shuffle or a scan, pass."""
    import json

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from spark_stages import main as check

    def stage(sid, tasks, shuffle_rows, input_rows=0):
        acc = [{"Name": "internal.metrics.shuffle.read.recordsRead", "Value": shuffle_rows},
               {"Name": "internal.metrics.input.recordsRead", "Value": input_rows}]
        return {"Event": "SparkListenerStageCompleted", "Stage Info": {
            "Stage ID": sid, "Stage Name": f"s{sid}", "Number of Tasks": tasks, "Accumulables": acc}}

    ok = [stage(1, 8, 50_000), stage(2, 1, 8), stage(3, 1, 0, input_rows=90_000)]
    (tmp_path / "good").write_text("\n".join(json.dumps(e) for e in ok))
    (tmp_path / "bad").write_text("\n".join(json.dumps(e) for e in [*ok, stage(4, 1, 5_000)]))
    assert check([str(tmp_path / "good"), "--quiet"]) == 0
    assert check([str(tmp_path / "bad"), "--quiet"]) == 1


def test_spark_bench_documented_command_runs_at_a_small_size(tmp_path):
    """docs/performance.md's bench/run_spark.py commands, at 2,000 customers in their own Spark
    (a subprocess: the event log is set when a session starts): DuckDB and Spark agree, the jobs
    and stages are counted, and the event-log check passes. Its own JVM: 40-60 s on an idle machine."""
    bench = Path(__file__).resolve().parent.parent / "bench" / "run_spark.py"
    out = subprocess.run([sys.executable, str(bench), "--customers", "2000", "--repeat", "1", "--no-warmup",
                          "--split-mb", "1", "--shuffle-partitions", "4", "--driver-memory", "1g",
                          "--data", str(tmp_path), "--event-log", str(tmp_path / "events")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    lines = {line.split()[0]: line for line in out.stdout.splitlines() if line.startswith(("bench_50", "rfm"))}
    assert set(lines) == {"bench_50", "rfm"}
    assert all("spark jobs/run [" in line and "stages/run [" in line for line in lines.values())
