"""Shared by the tests of the built-ins in segrules/builtin: backends (DuckDB always, PostgreSQL
from SEGRULES_POSTGRES_URL, required under CI=true), tables under unique names, and one-table specs."""

from __future__ import annotations

import json
import uuid

import pytest

import segrules
from rfm_helpers import BACKENDS, connect
from segrules.errors import SegrulesError

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


def positioned_error(text: str, at: str):
    """The first error of checking spec ``text``, asserting that it points at ``at`` (the text
    its column starts)."""
    with pytest.raises(SegrulesError) as info:
        segrules.load_text(text, "t.yaml").check()
    diag = next(d for d in info.value.diagnostics if d.is_error)
    line = text.splitlines()[diag.span.line - 1]
    assert line[diag.span.column - 1:].startswith(at), (line, diag.span, diag.message)
    return diag
