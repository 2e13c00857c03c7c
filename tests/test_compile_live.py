"""``segrules compile --now live``: the SQL reads the engine's clock (the current timestamp in the
spec's time zone, an Ibis expression) instead of a literal, so it can be a view. Created as a VIEW
on DuckDB and PostgreSQL, its members equal ``run --as-of`` at the instant the view used: the
instant is read back in the same statement (``now()`` is the transaction's start, one value in a
statement), so no boundary can fall between the two."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
import pytest
from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules.compile.live import _transaction_start
from segrules.demo import write_demo_data

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("SEGRULES_POSTGRES_URL")


@pytest.fixture(scope="module")
def shop_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("live") / "shop.duckdb"
    write_demo_data(path, customers=300, seed=5, events_per_customer=8, orders_per_customer=2, now=None)
    return path


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def backend(request, shop_file):
    duck = ibis.duckdb.connect(str(shop_file))
    if request.param == "duckdb":
        yield "duckdb", duck
        duck.disconnect()
        return
    if not PG_URL:
        pytest.skip("set SEGRULES_POSTGRES_URL to run the PostgreSQL tests")
    schema = f"live_{uuid.uuid4().hex[:8]}"
    admin = ibis.connect(PG_URL)
    admin.raw_sql(f'CREATE SCHEMA "{schema}"').close()
    sep = "&" if "?" in PG_URL else "?"
    pg = ibis.connect(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    for table in ("customers", "orders", "events"):
        pg.create_table(table, duck.table(table).to_pyarrow())
    duck.disconnect()
    yield "postgres", pg
    pg.disconnect()
    admin.raw_sql(f'DROP SCHEMA "{schema}" CASCADE').close()
    admin.disconnect()


def _clock_spec(con, zone: str) -> str:
    """Tables whose times sit every 37 (signups) and 23 (visits) minutes around the current wall
    clock of ``zone``, and rules with boundaries at now: the view and run agree only if both
    read the same instant in the same zone (5 hours off, a dozen memberships change)."""
    tag = uuid.uuid4().hex[:8]
    wall = datetime.now(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0)
    ids = list(range(-40, 41))
    con.create_table(f"people_{tag}", pa.table({
        "id": pa.array(ids, pa.int64()),
        "signup_at": pa.array([wall + timedelta(minutes=37 * k + 1) for k in ids], pa.timestamp("us"))}))
    con.create_table(f"visits_{tag}", pa.table({
        "id": pa.array(ids, pa.int64()),
        "at": pa.array([wall + timedelta(minutes=23 * k + 1) for k in ids], pa.timestamp("us"))}))
    return (f"version: 1\nname: clock\ntimezone: {zone}\nentity: {{table: people_{tag}, key: id}}\n"
            f"sources:\n  visits: {{table: visits_{tag}, key: id, time: at}}\n"
            "segments:\n"
            "  signed_up: {where: signup_at <= now}\n"
            "  signed_up_last_6h: {where: signup_at > now - 6h and signup_at <= now}\n"
            "  visited_last_3h: {where: count(visits within 3h) > 0}\n"
            "  last_visit_90min: {where: max(visits.at) > now - 90min}\n"
            f"schema:\n  people_{tag}: {{id: int64, signup_at: timestamp}}\n"
            f"  visits_{tag}: {{id: int64, at: timestamp}}\n")


def _shop_spec(con, zone: str) -> str:
    text = (ROOT / "segment_specs" / "ecommerce.yaml").read_text()
    return text.replace("version: 1\n", f"version: 1\ntimezone: {zone}\n", 1)


@pytest.mark.parametrize("make_spec, zone", [(_clock_spec, "UTC"), (_clock_spec, "America/New_York"),
                                        (_shop_spec, "Europe/Berlin")])
def test_compile_live_view_members_equal_run_at_its_instant(backend, make_spec, zone, tmp_path):
    name, con = backend
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(make_spec(con, zone))
    result = CliRunner().invoke(main, ["compile", str(spec_path), "--now", "live", "--dialect", name])
    assert result.exit_code == 0, result.output
    sql = result.output
    assert "TIMEZONE(" in sql.upper()
    view = f"live_{uuid.uuid4().hex[:8]}"
    con.raw_sql(f'CREATE VIEW "{view}" AS {sql}')  # the user's step: the compiled SQL as a view
    try:
        # the instant itself (a timestamptz, converted to the zone here, in Python)
        members = con.table(view).mutate(__now=_transaction_start()).to_pyarrow().to_pylist()
    finally:
        con.raw_sql(f'DROP VIEW "{view}"')
    instant = members[0]["__now"]
    assert instant.tzinfo is not None  # an instant: parse_as_of converts it to the spec's zone
    spec = segrules.load(spec_path)
    expected = spec.evaluate(con, as_of=instant).to_pyarrow().to_pylist()
    key = spec.key
    got = {r[key]: {s: r[s] for s in spec.segments} for r in members}
    want = {r[key]: {s: r[s] for s in spec.segments} for r in expected}
    assert got == want
    if spec.name == "clock":  # members and non-members in every segment: the comparison can fail
        for segment in spec.segments:
            assert 0 < sum(row[segment] for row in want.values()) < len(want), segment


def test_compile_live_with_as_of_or_unknown_dialect_is_sr113():
    spec = str(ROOT / "segment_specs" / "ecommerce.yaml")
    result = CliRunner().invoke(main, ["compile", spec, "--now", "live", "--as-of", "2026-10-01"])
    assert result.exit_code == 2 and "SR113" in result.output
    result = CliRunner().invoke(main, ["compile", spec, "--now", "live", "--dialect", "trino"])
    assert result.exit_code == 2 and "error[SR113]: --now live: no current-time expression for the trino" in result.output
