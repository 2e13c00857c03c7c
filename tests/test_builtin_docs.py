"""The examples of docs/language.md's section on ranks, buckets and calendar arithmetic run: each
``<!-- examples -->`` row is checked as ``expression == result`` (``is null`` for null), each
``<!-- ranks -->`` cell for the customers of the ``<!-- population -->`` table, on DuckDB and
PostgreSQL; and the Python bucket function shown there is the database's."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest

import segrules
from builtin_helpers import backend, one_table_spec, put_table  # noqa: F401 (a fixture)

DOC = (Path(__file__).resolve().parent.parent / "docs" / "language.md").read_text(encoding="utf-8")
NOW = datetime(2026, 11, 1)


def tables(marker: str) -> list[list[list[str]]]:
    """The markdown tables right after each ``<!-- marker -->``: rows of cells, header first."""
    found = []
    for match in re.finditer(rf"<!-- {marker} -->\n((?:\|.*\|\n)+)", DOC):
        lines = [ln for ln in match.group(1).splitlines() if not re.fullmatch(r"\|[\s\-|]+\|", ln)]
        found.append([[cell.strip().strip("`") for cell in ln.strip("|").split("|")] for ln in lines])
    return found


def rule(expression: str, result: str) -> str:
    return f"({expression}) is null" if result == "null" else f"({expression}) == ({result})"


def test_docs_examples_are_there():
    assert len(tables("examples")) == 2 and len(tables("ranks")) == 1 and len(tables("population")) == 1
    assert sum(len(t) - 1 for t in tables("examples")) >= 15


def test_docs_scalar_examples_hold(backend):
    rows = [row for table in tables("examples") for row in table[1:]]
    table = put_table(backend, pa.table({"id": pa.array([1], pa.int64())}), "docs")
    segments = {f"e{i}": rule(expression, result) for i, (expression, result) in enumerate(rows)}
    spec = segrules.load_text(one_table_spec(table, "id", segments=segments))
    (got,) = spec.evaluate(backend, as_of=NOW, features=False).to_pyarrow().to_pylist()
    wrong = [rows[int(name[1:])] for name in segments if not got[name]]
    assert not wrong, wrong


def test_docs_rank_examples_hold(backend):
    [[header, *people]] = tables("population")
    assert header == ["customer_id", "ltv"]
    ltv = [None if v == "null" else float(v) for _, v in people]
    table = put_table(backend, pa.table({"customer_id": pa.array([int(k) for k, _ in people], pa.int64()),
                                         "ltv": pa.array(ltv, pa.float64())}), "docs_ranks")
    [[keys, *examples]] = tables("ranks")
    segments = {f"r{i}_{key}": f"customer_id != {key} or {rule(row[0], cell)}"
                for i, row in enumerate(examples) for key, cell in zip(keys[1:], row[1:])}
    spec = segrules.load_text(one_table_spec(table, "customer_id", segments=segments))
    got = spec.evaluate(backend, as_of=NOW, features=False).to_pyarrow().to_pylist()
    wrong = [(examples[int(name[1:].split("_")[0])][0], name.split("_")[1]) for name in segments
             if not all(r[name] for r in got)]
    assert not wrong, wrong


def test_docs_python_bucket_is_the_databases():
    [code] = [c for c in re.findall(r"```python\n(.*?)```", DOC, re.S) if "def bucket" in c]
    namespace: dict = {}
    exec(compile(code, "docs/language.md", "exec"), namespace)
    for expression, result in (row for table in tables("examples") for row in table[1:]):
        match = re.fullmatch(r"bucket\((-?\d+|'[^']*'), '([^']*)', (\d+)\)", expression)
        if match:
            key = int(match[1]) if match[1][0] != "'" else match[1][1:-1]
            assert namespace["bucket"](key, match[2], int(match[3])) == int(result), expression
