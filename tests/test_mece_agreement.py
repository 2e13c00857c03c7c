"""The static MECE answers agree with data (hypothesis): random threshold rules over random data.

* "disjoint" (proved): on random data, evaluated on DuckDB, no entity is ever in both segments;
* "overlap" (a witness): inserting the witness as rows puts its entity in both segments;
* the same for gaps: "exhaustive" means every random entity is in one of them, a gap witness is
  in none.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import ibis
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segrules
import segrules_mece
from segrules_mece.prover import Prover
from segrules_mece.witness import witness_tables

SPEC = """\
version: 1
name: agreement
entity: {table: customers, key: customer_id, time: signup_at}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
assume:
  orders.amount: {minimum: 0}
segments:
  a: {where: "%s"}
  b: {where: "%s"}
schema:
  customers: {customer_id: int64, x: int64, y: float64, s: string, signup_at: timestamp, flag: boolean,
              born: date}
  orders: {customer_id: int64, ordered_at: timestamp, amount: "decimal(12, 2)", status: string}
"""
NOW = datetime(2026, 3, 1, 12, 0, 0)
SCHEMAS = {
    "customers": pa.schema([("customer_id", pa.int64()), ("x", pa.int64()), ("y", pa.float64()),
                            ("s", pa.string()), ("signup_at", pa.timestamp("us")), ("flag", pa.bool_()),
                            ("born", pa.date32())]),
    "orders": pa.schema([("customer_id", pa.int64()), ("ordered_at", pa.timestamp("us")),
                         ("amount", pa.decimal128(12, 2)), ("status", pa.string())]),
}

small = st.integers(-3, 3)
days = st.integers(1, 120)
atoms = st.one_of(
    st.builds(lambda op, c: f"x {op} {c}", st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), small),
    st.just("x is null"),
    st.builds(lambda lo, w: f"y between {lo} and {lo + w}", small, st.integers(0, 3)),
    st.builds(lambda vals: "s in (" + ", ".join(f"'{v}'" for v in vals) + ")",
              st.lists(st.sampled_from("pqr"), min_size=1, max_size=2, unique=True)),
    st.builds(lambda op, d: f"signup_at {op} now - {d}d", st.sampled_from([">=", "<"]), days),
    st.builds(lambda op, k, d: f"count(orders within {d}d) {op} {k}", st.sampled_from([">=", "==", "<"]),
              st.integers(0, 3), days),
    st.builds(lambda op, k: f"count(orders where status == 'paid') {op} {k}", st.sampled_from([">=", "<"]),
              st.integers(0, 2)),
    st.builds(lambda op, c: f"sum(orders.amount) {op} {c}", st.sampled_from([">", "<="]), st.integers(0, 50)),
    st.builds(lambda op, d: f"max(orders.ordered_at) {op} now - {d}d", st.sampled_from([">", "<="]), days),
    st.builds(lambda d: f"days_since(max(orders.ordered_at)) > {d}", days),
    st.sampled_from(["flag", "flag == false", "flag is null"]),
    st.builds(lambda op, c: f"avg(orders.amount) {op} {c}", st.sampled_from([">", "<="]), st.integers(0, 40)),
    st.builds(lambda op, c: f"min(orders.amount where status == 'paid') {op} {c}", st.sampled_from([">", "<="]),
              st.integers(0, 40)),
    st.builds(lambda k: f"count_distinct(orders.status) >= {k}", st.integers(1, 2)),
    st.builds(lambda s: f"last(orders.status) == '{s}'", st.sampled_from(["paid", "refunded"])),
    st.builds(lambda op, d: f"born {op} today - {d}d", st.sampled_from([">=", "<"]), days),
    st.builds(lambda op, d: f"born {op} now - {d}d", st.sampled_from([">", "<="]), days),
)


def _combine(children):
    return st.one_of(
        st.builds(lambda l, r: f"({l}) and ({r})", children, children),
        st.builds(lambda l, r: f"({l}) or ({r})", children, children),
        st.builds(lambda e: f"not ({e})", children),
    )


rules = st.recursive(atoms, _combine, max_leaves=4)


@st.composite
def rule_pairs(draw):
    a = draw(rules)
    kind = draw(st.sampled_from(["free", "negated", "narrowed", "referenced"]))
    if kind == "free":
        b = draw(rules)
    elif kind == "negated":
        b = f"not ({a})"
    elif kind == "narrowed":
        b = f"not ({a}) and ({draw(rules)})"
    else:
        b = f"not segment('a') and ({draw(rules)})"
    return a, b


customer = st.fixed_dictionaries({
    "x": st.one_of(st.none(), st.integers(-4, 4)),
    "y": st.one_of(st.none(), st.sampled_from([-3.5, -1.0, 0.0, 0.5, 2.0, 3.0, 6.0])),
    "s": st.one_of(st.none(), st.sampled_from(["p", "q", "r", "z"])),
    "signup_days": st.integers(0, 200),
    "flag": st.one_of(st.none(), st.booleans()),
    "born_days": st.one_of(st.none(), st.integers(0, 130)),
    "orders": st.lists(st.tuples(st.integers(0, 200), st.integers(0, 4000), st.sampled_from(["paid", "refunded"])),
                       max_size=4),
})


@pytest.fixture(scope="module")
def registry():
    return segrules.default_registry(plugins=[segrules_mece], load_entrypoints=False)


def _load(registry, a, b):
    return segrules.load_text(SPEC % (a, b), "agreement.yaml", registry=registry)


def _evaluate(spec, tables: dict, as_of) -> list[dict]:
    con = ibis.duckdb.connect()
    for name, table in tables.items():
        con.create_table(name, table)
    try:
        return spec.evaluate(con, as_of=as_of).to_pyarrow().to_pylist()
    finally:
        con.disconnect()


def _random_tables(customers: list[dict]) -> dict:
    people, orders = [], []
    for i, c in enumerate(customers, start=1):
        born = None if c["born_days"] is None else (NOW - timedelta(days=c["born_days"])).date()
        people.append({"customer_id": i, "x": c["x"], "y": c["y"], "s": c["s"],
                       "signup_at": NOW - timedelta(days=c["signup_days"], hours=3), "flag": c["flag"],
                       "born": born})
        for d, cents, status in c["orders"]:
            orders.append({"customer_id": i, "ordered_at": NOW - timedelta(days=d, minutes=7),
                           "amount": Decimal(cents) / 100, "status": status})
    return {name: pa.Table.from_pylist(rows, schema=SCHEMAS[name])
            for name, rows in (("customers", people), ("orders", orders))}


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assert_pair_agrees(spec, data: list[dict], label) -> None:
    """The static answer for segments a and b of ``spec`` holds on the random ``data`` (disjoint)
    or on its witness (overlap)."""
    checked = spec.check()
    answer = Prover(checked).pair("a", "b")
    if answer.kind == "disjoint":
        rows = _evaluate(spec, _random_tables(data), NOW)
        assert not any(r["a"] and r["b"] for r in rows), label
    elif answer.kind == "overlap":
        w = answer.witness
        assert w.insertable
        [row] = _evaluate(spec, witness_tables(w, checked), w.now)
        assert row["a"] and row["b"], (label, w.to_dict())
    else:
        assert answer.kind == "unknown" and answer.reason


def assert_gap_agrees(spec, data: list[dict], label) -> None:
    """The same for the gap question: exhaustive on ``data``, or a witness in neither."""
    checked = spec.check()
    answer = Prover(checked).gap(["a", "b"])
    if answer.kind == "exhaustive":
        rows = _evaluate(spec, _random_tables(data), NOW)
        assert all(r["a"] or r["b"] for r in rows), label
    elif answer.kind == "gap":
        w = answer.witness
        [row] = _evaluate(spec, witness_tables(w, checked), w.now)
        assert not row["a"] and not row["b"], (label, w.to_dict())
    else:
        assert answer.kind == "unknown" and answer.reason


@SETTINGS
@given(pair=rule_pairs(), data=st.lists(customer, min_size=1, max_size=8))
def test_mece_static_pair_agrees_with_data(registry, pair, data):
    assert_pair_agrees(_load(registry, *pair), data, pair)


@SETTINGS
@given(pair=rule_pairs(), data=st.lists(customer, min_size=1, max_size=8))
def test_mece_static_gap_agrees_with_data(registry, pair, data):
    assert_gap_agrees(_load(registry, *pair), data, pair)


def test_mece_static_answers_are_not_all_unknown(registry):
    """The generator reaches all three answers (a property that only ever says unknown is empty)."""
    kinds = set()
    for a, b in [("x > 1", "x < 0"), ("x > 1", "x > 2"), ("s in ('p')", "not (s in ('p'))")]:
        kinds.add(Prover(_load(registry, a, b).check()).pair("a", "b").kind)
    assert kinds == {"disjoint", "overlap"}
    gap = Prover(_load(registry, "s in ('p')", "not (s in ('p'))").check()).gap(["a", "b"])
    assert gap.kind == "gap" and gap.witness.entity["s"] is None  # null is in neither
