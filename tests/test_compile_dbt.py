"""``segrules compile --dbt DIR``: one dbt model per spec (its wide membership table) and a
sources.yml for the tables they read. dbt-duckdb builds the project in ONE invocation, and every
model's rows equal ``segrules run`` (the Python API it runs) on the same data at the same time.

dbt-core pins ``pathspec<0.13`` while the test environment's mypy needs ``pathspec>=1``, so dbt
cannot live in the test environment: it runs from its own virtual environment, ``$SEGRULES_DBT``
(the ``dbt`` executable) or ``.venv-dbt/bin/dbt`` beside the repository, which the fixture creates
once (``pip install 'segrules[dbt]'``'s pins) when it is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules.demo import write_demo_data

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-10-01"
SPECS = ["segment_specs/ecommerce.yaml", "segment_specs/lifecycle.yaml", "segment_specs/bench_50.yaml"]
DBT_PINS = ["dbt-duckdb>=1.10,<1.12", "dbt-core>=1.10,<1.12"]  # as pyproject.toml's dbt extra


@pytest.fixture(scope="session")
def dbt() -> str:
    """The dbt executable (its own virtual environment; created on first use, a minute or two)."""
    given = os.environ.get("SEGRULES_DBT")
    if given:
        return given
    venv = ROOT / ".venv-dbt"
    exe = venv / "bin" / "dbt"
    if not exe.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *DBT_PINS], check=True)
    return str(exe)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("dbt") / "shop.duckdb"
    write_demo_data(path, customers=400, seed=9, events_per_customer=6, orders_per_customer=2,
                    now=datetime(2026, 10, 1))
    return path


# ~7 s of CPU (20-35 s on a loaded 2-core machine): one dbt process that parses and builds the three
# models; the specs themselves run in well under a second
def test_compile_dbt_models_build_and_equal_run(dbt, shop, tmp_path):
    project = tmp_path / "dbt_project"
    args = ["compile", *(str(ROOT / s) for s in SPECS), "--dbt", str(project), "--as-of", AS_OF, "--db", str(shop)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    models = project / "models" / "segrules"
    assert sorted(p.name for p in models.iterdir()) == ["bench.sql", "lifecycle.sql", "models.yml", "shop.sql",
                                                          "sources.yml"]
    assert "{{ source('segrules', 'orders') }}" in (models / "shop.sql").read_text()
    (tmp_path / "profiles.yml").write_text(
        f"segrules:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: {shop}\n"
        "      schema: main\n      threads: 1\n")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    ran = subprocess.run([dbt, "run", "--project-dir", str(project), "--profiles-dir", str(tmp_path)],
                         capture_output=True, text=True, env=env, cwd=project, timeout=300)
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-2000:]
    with duckdb.connect(str(shop), read_only=True) as con:
        built = {name: con.execute(f'select * from main."{name}"').fetch_arrow_table().to_pylist()
                 for name in ("shop", "lifecycle", "bench")}
    import ibis
    con = ibis.duckdb.connect(str(shop), read_only=True)
    try:
        for path in SPECS:
            spec = segrules.load(ROOT / path)
            expected = spec.evaluate(con, as_of=AS_OF).to_pyarrow().to_pylist()
            key = spec.key
            got = sorted(built[spec.name], key=lambda r: r[key])
            assert got == sorted(expected, key=lambda r: r[key]), path
            assert any(any(r[s] for s in spec.segments) for r in expected)  # members, not all false
    finally:
        con.disconnect()


def test_compile_dbt_without_as_of_reads_the_engine_clock(tmp_path):
    result = CliRunner().invoke(main, ["compile", str(ROOT / SPECS[0]), "--dbt", str(tmp_path)])
    assert result.exit_code == 0, result.output
    sql = (tmp_path / "models" / "segrules" / "shop.sql").read_text()
    assert "TIMEZONE('UTC', NOW())" in sql and "MAKE_TIMESTAMP" not in sql
    assert (tmp_path / "dbt_project.yml").exists()


def test_compile_dbt_two_specs_of_one_name_is_sr114(tmp_path):
    spec = ROOT / SPECS[0]
    copy = tmp_path / "copy.yaml"
    copy.write_text(spec.read_text())
    result = CliRunner().invoke(main, ["compile", str(spec), str(copy), "--dbt", str(tmp_path / "out")])
    assert result.exit_code == 2 and "error[SR114]: --dbt: several specs are named shop" in result.output
