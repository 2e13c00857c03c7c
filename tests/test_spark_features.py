"""Every feature on Spark, through the command line as a user runs it, against DuckDB on the same
data (the test run's one SparkSession, conftest ``spark_con``; small data): history snapshots of
Spark data, preview, MECE on data, the cohorts plugin's reports (cohort, experiment, funnel),
``compile --now live`` as a Spark view, and the README's ``--target lake`` profile. A state store
on Spark through the command line is SR759 (no lock; the Python API can keep state there:
tests/test_parity_history.py, tests/test_parity_sync.py)."""

from __future__ import annotations

import shlex
import sys
import uuid
from datetime import datetime
from pathlib import Path

import ibis
import numpy as np
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

import segrules
from segrules.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parent))
import docs_commands as dc  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def _load(spark, database: str, tables: dict) -> None:
    """``tables`` (name -> Arrow) into the Spark database ``database``."""
    spark._session.sql(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    for name, table in tables.items():
        spark.create_table(name, table, database=database, overwrite=True)


def _duckdb(path: Path, tables: dict) -> Path:
    con = ibis.duckdb.connect(str(path))
    for name, table in tables.items():
        con.create_table(name, table, overwrite=True)
    con.disconnect()
    return path


@pytest.fixture(scope="module")
def lakes(spark_con, tmp_path_factory):
    """Spark databases shop, growth and onboarding (demo data, small) and the same as DuckDB files."""
    from segrules.demo import write_demo_data
    from segrules_cohorts import demo as growth
    from segrules_cohorts.funnels.demo import generate as onboarding

    folder = tmp_path_factory.mktemp("lakes")
    write_demo_data(folder / "shop.duckdb", customers=300, seed=11)
    shop = ibis.duckdb.connect(str(folder / "shop.duckdb"), read_only=True)
    data = {"shop": {t: shop.table(t).to_pyarrow() for t in ("customers", "orders", "events")}}
    shop.disconnect()
    now_us = growth._us(growth.NOW)
    data["growth"] = {**growth.acquisition(np.random.default_rng([14, 0]), now_us, n=600),
                      **growth.experiment(np.random.default_rng([14, 2]), now_us, n=600)}
    data["onboarding"] = onboarding(users=600)
    suffix = uuid.uuid4().hex[:6]
    out = {}
    for name, tables in data.items():
        _load(spark_con, f"{name}_{suffix}", tables)
        out[name] = (f"{name}_{suffix}", _duckdb(folder / f"{name}.duckdb", tables) if name != "shop"
                     else folder / "shop.duckdb")
    yield spark_con, out
    for database, _ in out.values():
        spark_con._session.sql(f"DROP DATABASE IF EXISTS `{database}` CASCADE")


def cli(spark, *args: str):
    """The command line in this process (it joins the running SparkSession); the session's current
    database and shuffle partitions are restored after it (a URL's database= changes them)."""
    try:
        return CliRunner().invoke(main, list(args))
    finally:
        spark._session.catalog.setCurrentDatabase("default")
        spark._session.conf.set("spark.sql.shuffle.partitions", "2")


def same_on_both(spark, lake, *args: str) -> str:
    database, duckdb_file = lake
    want = cli(spark, *args, "--db", str(duckdb_file))
    got = cli(spark, *args, "--db", f"pyspark://?database={database}")
    assert want.exit_code == 0, want.output
    assert got.exit_code == 0 and got.output == want.output, got.output
    return got.output


@pytest.mark.parametrize("command", [
    "preview segment_specs/lifecycle.yaml at_risk --as-of 2026-10-01 --limit 3",  # ecommerce's RFM: test_parity_rfm
    "mece segment_specs/lifecycle.yaml --as-of 2026-10-01",
])
def test_spark_features_shop_commands_print_what_duckdb_prints(lakes, command):
    spark, lake = lakes
    same_on_both(spark, lake["shop"], *command.split())


@pytest.mark.parametrize("lake_name, command", [
    ("growth", "cohort segment_specs/cohorts_acquisition.yaml --cohort acquisition_week --as-of 2025-04-28"),
    ("growth", "experiment segment_specs/cohorts_experiment.yaml --experiment template_feature --as-of 2025-04-28"),
    ("onboarding", "funnel segment_specs/saas_onboarding.yaml --funnel onboarding --as-of 2025-06-01"),
])
def test_spark_features_cohort_reports_print_what_duckdb_prints(lakes, lake_name, command):
    spark, lake = lakes
    assert "%" in same_on_both(spark, lake[lake_name], *command.split())


def test_spark_features_history_of_spark_data_in_the_default_state_store(lakes, tmp_path):
    """run --snapshot on Spark data, twice, then changes: the same events as with the data in DuckDB."""
    spark, lake = lakes
    database, duckdb_file = lake["shop"]
    outputs = []
    for db, state in ((str(duckdb_file), tmp_path / "duck.duckdb"), (f"pyspark://?database={database}",
                                                                     tmp_path / "spark.duckdb")):
        for as_of in ("2026-08-01", "2026-10-01"):
            result = cli(spark, "run", "segment_specs/lifecycle.yaml", "--db", db, "--as-of", as_of,
                         "--snapshot", "--state", str(state))
            assert result.exit_code == 0, result.output
        out = state.with_suffix(".csv")
        result = cli(spark, "changes", "segment_specs/lifecycle.yaml", "--state", str(state), "--out", str(out))
        assert result.exit_code == 0, result.output
        events = pacsv.read_csv(out).drop_columns(["run_id"]).to_pylist()
        outputs.append(sorted(tuple(str(v) for v in row.values()) for row in events))
    assert outputs[0] == outputs[1] and len(outputs[0]) > 10


def test_spark_features_state_store_on_spark_is_sr759_before_connecting(tmp_path):
    from segrules.demo import write_demo_data

    write_demo_data(tmp_path / "shop.duckdb", customers=20)
    for command in (["run", "segment_specs/lifecycle.yaml", "--snapshot"],
                    ["backfill", "segment_specs/lifecycle.yaml", "--from", "2026-08-01", "--to", "2026-09-01"]):
        result = CliRunner().invoke(main, [*command, "--db", str(tmp_path / "shop.duckdb"),
                                           "--state", "pyspark://?database=x#hist"])
        assert result.exit_code != 0 and "error[SR759]" in result.output, result.output
        assert "Traceback" not in result.output


def test_spark_features_compile_now_live_view_members_equal_run_at_its_instant(lakes, tmp_path):
    """The live SQL as a Spark view, read with the instant it used (Spark evaluates
    current_timestamp once per query), equals run --as-of that instant, in a zone with an offset."""
    from test_compile_live import _clock_spec

    spark, _ = lakes
    spec_path = tmp_path / "clock.yaml"
    spec_path.write_text(_clock_spec(spark, "America/New_York"))
    result = CliRunner().invoke(main, ["compile", str(spec_path), "--now", "live", "--dialect", "spark"])
    assert result.exit_code == 0, result.output
    view = f"live_{uuid.uuid4().hex[:8]}"
    spark._session.sql(f"CREATE TEMPORARY VIEW `{view}` AS {result.output}")
    try:
        rows = spark._session.sql(f"SELECT *, current_timestamp() AS `__now` FROM `{view}`").toArrow().to_pylist()
    finally:
        spark._session.catalog.dropTempView(view)
    instant = rows[0]["__now"]
    spec = segrules.load(spec_path)
    expected = spec.evaluate(spark, as_of=instant).to_pyarrow().to_pylist()
    got = {r["id"]: {s: r[s] for s in spec.segments} for r in rows}
    want = {r["id"]: {s: r[s] for s in spec.segments} for r in expected}
    assert got == want
    for segment in spec.segments:  # members and non-members in every segment: the comparison can fail
        assert 0 < sum(row[segment] for row in want.values()) < len(want), segment


def test_spark_features_readme_lake_profile_runs_as_shown(lakes, tmp_path, monkeypatch):
    """README.md's profiles.yml and its `--target lake` command, with the demo shop in the Spark
    database the profile names: the same output as the command with the data in DuckDB."""
    spark, lake = lakes
    profiles = next(c for c in dc.commands("README.md") if c.kind == "file" and c.expected == "profiles.yml")
    command = next(c for c in dc.commands("README.md") if "--target lake" in c.text)
    database, duckdb_file = lake["shop"]
    (tmp_path / "profiles.yml").write_text(profiles.text.replace("database: shop", f"database: {database}"))
    assert f"database: {database}" in (tmp_path / "profiles.yml").read_text()
    monkeypatch.setenv("SEGRULES_PROFILES_DIR", str(tmp_path))
    args = shlex.split(command.text)[1:]
    got = cli(spark, *args)
    at = args.index("--target")
    want = cli(spark, *args[:at], "--db", str(duckdb_file), *args[at + 2:])
    assert want.exit_code == 0 and got.exit_code == 0, got.output
    assert got.output == want.output
