"""segrules serve's command line (features of issue 18): ``--stream`` names a stream source of a
plugin (SR905 for an unknown one or a bad ``--stream-option``), and a database that is not DuckDB
or PostgreSQL (Spark, a warehouse) is refused before connecting (SR906), as a URL, as a project
target, and through the Python API."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from segrules.cli import main
from serve_helpers import TOKEN, load

SPEC = str(load("ecommerce").path)


@pytest.fixture
def runner(monkeypatch):
    monkeypatch.setenv("SEGRULES_SERVE_TOKEN", TOKEN)
    return CliRunner()


def test_serve_cli_unknown_stream_source_is_sr905(runner, tmp_path):
    result = runner.invoke(main, ["serve", SPEC, "--db", str(tmp_path / "shop.duckdb"), "--stream", "kafka"])
    assert result.exit_code == 2 and "SR905" in result.output and "--stream kafka" in result.output
    assert not (tmp_path / "shop.duckdb").exists()  # refused before connecting


def test_serve_cli_bad_stream_option_is_sr905(runner, tmp_path, monkeypatch):
    import stream_plugin
    import segrules.cli.registry as cli_registry
    import segrules

    monkeypatch.setattr(cli_registry, "load_registry",
                        lambda: segrules.default_registry(plugins=[stream_plugin]))
    monkeypatch.setattr("segrules.cli.serve.load_registry", cli_registry.load_registry)
    result = runner.invoke(main, ["serve", SPEC, "--db", str(tmp_path / "shop.duckdb"), "--stream", "filelog",
                                  "--stream-option", "path"])
    assert result.exit_code == 2 and "SR905" in result.output and "expected KEY=VALUE" in result.output


@pytest.mark.parametrize("db", ["pyspark://?master=local[2]", "spark://node1:7077?database=shop", "sc://127.0.0.1:15002",
                                "snowflake://u@acct/db"])
def test_serve_cli_spark_or_warehouse_url_is_sr906(runner, db):
    result = runner.invoke(main, ["serve", SPEC, "--db", db])
    assert result.exit_code == 2 and "SR906" in result.output
    assert "runs on DuckDB or PostgreSQL" in result.output


def test_serve_cli_spark_target_is_sr906(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SEGRULES_PROFILES_DIR", str(tmp_path))
    Path("segrules.yml").write_text("version: 1\ntargets:\n  lake: {type: spark, master: 'local[1]'}\n")
    result = runner.invoke(main, ["serve", SPEC, "--target", "lake"])
    assert result.exit_code == 2 and "SR906" in result.output and "not on spark (spark (master local[1]))" \
        in " ".join(result.output.split())


def test_serve_api_refuses_a_spark_connection():
    from segrules.errors import SpecError
    from segrules.serve.service import Service

    class SparkLike:
        name = "pyspark"
    with pytest.raises(SpecError) as caught:
        Service(load("ecommerce"), SparkLike())
    assert caught.value.diagnostics[0].code == "SR906" and "not on spark" in str(caught.value)
