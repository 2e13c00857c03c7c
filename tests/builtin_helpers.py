"""Shared by the tests of the built-ins in segrules/builtin: backends (DuckDB always, PostgreSQL
from SEGRULES_POSTGRES_URL, required under CI=true), tables under unique names, and one-table specs."""

from __future__ import annotations

import json
import os
import uuid

import ibis
import pytest

POSTGRES_URL = os.environ.get("SEGRULES_POSTGRES_URL")
BACKENDS = ["duckdb", "postgres"]


def connect(name: str):
    if name == "duckdb":
        return ibis.duckdb.connect()
    if not POSTGRES_URL:
        if os.environ.get("CI") == "true":
            raise RuntimeError("CI=true but SEGRULES_POSTGRES_URL is not set: .ci/run must start PostgreSQL")
        pytest.skip("set SEGRULES_POSTGRES_URL to run the PostgreSQL tests")
    return ibis.connect(POSTGRES_URL)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    """A connection per backend, shared by a module's tests; drops the tables they made."""
    con = connect(request.param)
    made: list[str] = []
    con.made = made
    yield con
    for table in made:
        con.drop_table(table, force=True)
    con.disconnect()


def put_table(con, arrow_table, prefix: str = "t") -> str:
    """``arrow_table`` as a new table of ``con`` under a unique name, which it returns."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    con.create_table(name, arrow_table)
    getattr(con, "made", []).append(name)
    return name


def one_table_spec(table: str, key: str, features: dict[str, str] = (), segments: dict[str, str] = (),
                   params: str = "{}", time: str | None = None) -> str:
    """A spec over one entity table (no sources); rules are written as JSON strings (valid YAML)."""
    entity = f"{{table: {table}, key: {key}" + (f", time: {time}" if time else "") + "}"
    text = f"version: 1\nname: t\nentity: {entity}\nparams: {params}\n"
    if features:
        text += "features:\n" + "".join(f"  {n}: {json.dumps(r)}\n" for n, r in dict(features).items())
    segments = dict(segments) or {"everyone": "true"}
    return text + "segments:\n" + "".join(f"  {n}: {{where: {json.dumps(r)}}}\n" for n, r in segments.items())
