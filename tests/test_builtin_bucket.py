"""bucket(x, 'salt', n) is the Python formula below, for 100k keys of every key type, on DuckDB and
PostgreSQL; and its misuse is a positioned error."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import datetime

import ibis
import pyarrow as pa
import pytest

import segrules
from builtin_helpers import backend, one_table_spec, positioned_error, put_table  # noqa: F401 (a fixture)

NOW = datetime(2026, 11, 1)
KEYS = 100_000
SALT = "spring 'sale' – ü"  # quotes and non-ASCII reach the database as a literal


def py_bucket(key, salt: str, n: int) -> int | None:
    """The documented Python equivalent (docs/language.md)."""
    if key is None:
        return None
    return int(hashlib.md5(f"{salt}:{key}".encode()).hexdigest()[:8], 16) % n


def int_keys(rng: random.Random) -> list:
    edges = [0, 1, -1, 2**63 - 1, -(2**63), 10**18, -(10**18), None]
    return edges + [rng.choice([rng.randint(-1000, 1000), rng.randint(-(2**63), 2**63 - 1)])
                    for _ in range(KEYS - len(edges))]


def string_keys(rng: random.Random) -> list:
    # every code point but NUL (PostgreSQL text cannot hold it) and the surrogates (not UTF-8)
    alphabet = "abcXYZ019 '\"\\%_-:é中😀\u0301\t\n" + "".join(chr(rng.randint(1, 0xD7FF)) for _ in range(200)) + \
        "".join(chr(rng.randint(0xE000, 0x10FFFF)) for _ in range(100))
    edges = ["", "'", "''", '"', "\\", " ", "😀", "a:b", None]
    return edges + ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(KEYS - len(edges))]


def uuid_keys(rng: random.Random) -> list:
    edges = [str(uuid.UUID(int=0)), str(uuid.UUID(int=2**128 - 1)), None]
    return edges + [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(KEYS - len(edges))]


KINDS = {"int64": (int_keys, pa.int64()), "string": (string_keys, pa.string()), "uuid": (uuid_keys, pa.string())}


@pytest.mark.parametrize("kind", list(KINDS))
def test_bucket_equals_the_python_formula_for_100k_keys(backend, kind):
    make, arrow_type = KINDS[kind]
    keys = make(random.Random(kind))
    table = put_table(backend, pa.table({"id": pa.array(range(len(keys)), pa.int64()),
                                         "k": pa.array(keys, arrow_type)}), "bucket")
    if kind == "uuid":  # a UUID column, made by the database from the canonical text
        t = backend.table(table)
        table = put_table(backend, t.mutate(k=t.k.cast("uuid")), "bucket_uuid")
        assert backend.table(table).schema()["k"].is_uuid()
    salt = SALT.replace("'", "\\'")
    spec = segrules.load_text(one_table_spec(table, "id", {
        "b1000": f"bucket(k, '{salt}', 1000)", "b7": "bucket(k, $salt, $n)", "b1": "bucket(k, '', 1)"},
        params=f"{{salt: 'x', n: 7}}"))
    rows = spec.evaluate(backend, as_of=NOW).to_pyarrow().to_pylist()
    assert len(rows) == len(keys)
    wrong = [(keys[r["id"]], r["b1000"], r["b7"], r["b1"]) for r in rows
             if (r["b1000"], r["b7"], r["b1"]) != (py_bucket(keys[r["id"]], SALT, 1000), py_bucket(keys[r["id"]], "x", 7),
                                                     py_bucket(keys[r["id"]], "", 1))]
    assert not wrong, f"{len(wrong)} keys differ, e.g. {wrong[:3]}"
    spread = {r["b1000"] for r in rows}
    assert len(spread) == 1001  # 0..999 and null


def test_bucket_duckdb_fast_path_and_portable_path_agree():
    con = ibis.duckdb.connect()
    keys = int_keys(random.Random(1))[:2000]
    table = put_table(con, pa.table({"id": pa.array(range(len(keys)), pa.int64()), "k": pa.array(keys, pa.int64())}))
    spec = segrules.load_text(one_table_spec(table, "id", {"b": "bucket(k, 's', 97)"}))
    fast_sql = spec.to_sql("duckdb", con=con, as_of=NOW)
    portable = spec.compile(con, as_of=NOW, dialect="postgres")  # ascii() per hex digit
    assert "'0x'" in fast_sql and "ASCII" not in fast_sql
    fast = spec.evaluate(con, as_of=NOW).to_pyarrow().to_pylist()
    slow = con.to_pyarrow(portable).to_pylist()
    assert sorted(map(tuple, (r.values() for r in fast))) == sorted(map(tuple, (r.values() for r in slow)))
    assert all(r["b"] == py_bucket(keys[r["id"]], "s", 97) for r in fast)


HEAD = """\
version: 1
name: t
entity: {table: customers, key: customer_id}
params: {n: 10, salt: spring, ratio: 0.5}
segments:
  s: {where: "%s"}
schema:
  customers: {customer_id: int64, email: string, vip: boolean, signup_at: timestamp, score: float64}
"""


@pytest.mark.parametrize("rule, code, at, words", [
    ("bucket(signup_at, 's', 10) == 1", "SR426", "signup_at", "got timestamp"),
    ("bucket(score, 's', 10) == 1", "SR426", "score", "got float64"),
    ("bucket(vip, 's', 10) == 1", "SR426", "vip", "got boolean"),
    ("bucket(customer_id, email, 10) == 1", "SR427", "email", "string literal"),
    ("bucket(customer_id, $n, 10) == 1", "SR427", "$n", "string parameter"),
    ("bucket(customer_id, 's', 0) == 1", "SR424", "0", "at least 1"),
    ("bucket(customer_id, 's', $ratio) == 1", "SR423", "$ratio", "whole-number"),
    ("bucket(customer_id, 's', customer_id) == 1", "SR423", "customer_id)", "whole-number"),
    ("bucket(customer_id, 's') == 1", "SR404", "bucket(customer_id, 's')", "takes 3 arguments, got 2"),
])
def test_bucket_misuse_is_a_positioned_error(rule, code, at, words):
    diag = positioned_error(HEAD % rule, at)
    assert diag.code == code and words in diag.message, diag.message


def test_bucket_of_a_string_parameter_salt_and_null():
    segrules.load_text(HEAD % "bucket(email, $salt, $n) < 1 and bucket(null, 's', 2) is null").check()
