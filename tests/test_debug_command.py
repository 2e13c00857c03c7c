"""``segrules debug``: the connection of each spec's target checked, and the tables and columns
the spec reads listed, present or missing (exit 1), passwords never shown."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from segrules.cli import main
from segrules.demo import write_demo_data

ROOT = Path(__file__).resolve().parent.parent
SPEC = str(ROOT / "segment_specs" / "ecommerce.yaml")
PG_URL = os.environ.get("SEGRULES_POSTGRES_URL")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("debug") / "shop.duckdb"
    write_demo_data(path, customers=50, seed=3, now=datetime(2026, 10, 1))
    return path


def _invoke(*args, env=None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_debug_command_lists_what_the_spec_reads(shop):
    result = _invoke("debug", SPEC, "--db", str(shop))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"{shop}: connection ok (duckdb, 3 tables)"
    assert lines[1].endswith("ecommerce.yaml: 3 tables, all present")
    # key and time columns, then the columns the rules (and the rfm: section) read, in first-use order
    assert lines[2:] == ["  customers  customer_id, signup_at, country, email",
                         "  orders     customer_id, ordered_at, amount, status",
                         "  events     customer_id, ts, name"]


def test_debug_command_missing_table_and_column_exit_1(shop, tmp_path):
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(shop.read_bytes())
    with duckdb.connect(str(broken)) as con:
        con.execute("drop table events")
        con.execute("alter table orders drop column status")
    result = _invoke("debug", SPEC, "--db", str(broken))
    assert result.exit_code == 1
    assert "3 tables, 1 missing" in result.output and "  events     MISSING" in result.output
    assert "error[SR307]: table 'events' not found in the database" in result.output
    with duckdb.connect(str(broken)) as con:
        con.execute("alter table orders rename column ordered_at to created_at")
    result = _invoke("debug", SPEC, "--db", str(broken))  # a key or time column: listed as missing
    assert "  orders     customer_id; missing: ordered_at" in result.output
    with duckdb.connect(str(broken)) as con:
        con.execute("alter table orders rename column created_at to ordered_at")
    with duckdb.connect(str(broken)) as con:
        con.execute("create table events as select 1 as customer_id, now() as ts, 'x' as name")
    result = _invoke("debug", SPEC, "--db", str(broken))
    assert result.exit_code == 1 and "3 tables, the check failed (below)" in result.output
    assert "error[SR301]: unknown column 'status' in source 'orders'" in result.output


def test_debug_command_connection_of_a_profile_without_project(shop, tmp_path, monkeypatch):
    (tmp_path / "profiles.yml").write_text(f"profiles:\n  local:\n    type: duckdb\n    path: {shop}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEGRULES_PROFILES", raising=False)
    result = _invoke("debug", "--target", "local", env={"SEGRULES_PROFILES_DIR": str(tmp_path)})
    assert (result.exit_code, result.output) == (0, f"target local: {shop}: connection ok (duckdb, 3 tables)\n")


@pytest.mark.skipif(not PG_URL, reason="SEGRULES_POSTGRES_URL not set")
def test_debug_command_failed_connection_masks_the_password():
    from urllib.parse import urlsplit
    url = urlsplit(PG_URL)
    bad = f"postgres://{url.username}:Wr0ngSecret@{url.hostname}:{url.port or 5432}{url.path}"
    result = _invoke("debug", "--db", bad)
    assert result.exit_code == 1 and "connection failed" in result.output
    assert "Wr0ngSecret" not in result.output and f"{url.username}:***@" in result.output
    nopw = f"postgres://nobody_here@{url.hostname}:{url.port or 5432}{url.path}"
    result = _invoke("debug", "--db", nopw)
    assert f"postgres://nobody_here@{url.hostname}" in result.output and "***" not in result.output
