"""The MECE prover and ``entity.NAME`` inside aggregates: modelled exactly (the entity's column or
feature, one variable for all its rows), so proofs hold on data and witnesses reproduce on DuckDB
(hypothesis, as tests/test_mece_agreement.py); never a crash, never a wrong proof."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import segrules
import segrules_mece
from segrules_mece.prover import Prover
from segrules_mece.witness import witness_tables

from test_mece_agreement import SPEC as AGREEMENT_SPEC
from test_mece_agreement import (NOW, SETTINGS, _combine, _evaluate, assert_gap_agrees, assert_pair_agrees, atoms,
                                 customer)

# the agreement spec (customers with signup_at as entity time, orders) with two features to read
SPEC = AGREEMENT_SPEC.replace("segments:\n", """\
features:
  first_at: min(orders.ordered_at)
  last_paid_at: max(orders.ordered_at where status == 'paid')
segments:
""", 1)
assert "first_at" in SPEC

days = st.integers(1, 120)
entity_atoms = st.one_of(
    st.builds(lambda d, op, k: f"count(orders where ordered_at <= entity.signup_at + {d}d) {op} {k}",
              days, st.sampled_from([">=", "==", "<"]), st.integers(0, 2)),
    st.builds(lambda d: f"count(orders between entity.signup_at and entity.signup_at + {d}d) >= 1", days),
    st.builds(lambda op: f"count(orders where amount {op} entity.y) >= 1", st.sampled_from([">", "<="])),
    st.builds(lambda op, k: f"count(orders where ordered_at > entity.first_at) {op} {k}",
              st.sampled_from([">=", "=="]), st.integers(0, 2)),
    st.builds(lambda d: f"count(orders where ordered_at > entity.last_paid_at within {d}d) >= 1", days),
    st.builds(lambda d: f"max(orders.amount where ordered_at <= entity.born + {d}d) > 10", days),
    st.just("last_paid_at is null"),
    st.just("count(orders where entity.flag) > 0"),
)
rules = st.recursive(st.one_of(entity_atoms, entity_atoms, atoms), _combine, max_leaves=3)


@st.composite
def rule_pairs(draw):
    a = draw(rules)
    kind = draw(st.sampled_from(["free", "negated", "narrowed"]))
    b = draw(rules) if kind == "free" else f"not ({a})" if kind == "negated" else f"not ({a}) and ({draw(rules)})"
    return a, b


@pytest.fixture(scope="module")
def registry():
    return segrules.default_registry(plugins=[segrules_mece], load_entrypoints=False)


def _load(registry, a, b):
    return segrules.load_text(SPEC % (a, b), "entity_agreement.yaml", registry=registry)


@SETTINGS
@given(pair=rule_pairs(), data=st.lists(customer, min_size=1, max_size=8))
def test_mece_entity_pair_agrees_with_data(registry, pair, data):
    assert_pair_agrees(_load(registry, *pair), data, pair)


@SETTINGS
@given(pair=rule_pairs(), data=st.lists(customer, min_size=1, max_size=8))
def test_mece_entity_gap_agrees_with_data(registry, pair, data):
    assert_gap_agrees(_load(registry, *pair), data, pair)


@pytest.mark.parametrize("a, b, kind", [
    # the same filter, complementary thresholds: a proof
    ("count(orders where ordered_at <= entity.signup_at + 7d) >= 1",
     "count(orders where ordered_at <= entity.signup_at + 7d) == 0", "disjoint"),
    # strictly before implies at or before
    ("count(orders where ordered_at < entity.signup_at + 7d) >= 1",
     "count(orders where ordered_at <= entity.signup_at + 7d) == 0", "disjoint"),
    # an order after the last paid one needs a paid one: the value is not null
    ("count(orders where ordered_at > entity.last_paid_at) > 0", "last_paid_at is null", "disjoint"),
    ("count(orders where ordered_at <= entity.signup_at + 7d) >= 1", "count(orders) == 1", "overlap"),
    ("count(orders where ordered_at > entity.first_at) >= 1", "count(orders) >= 2", "overlap"),
])
def test_mece_entity_answers(registry, a, b, kind):
    spec = _load(registry, a, b)
    checked = spec.check()
    answer = Prover(checked).pair("a", "b")
    assert answer.kind == kind, answer.reason
    if kind == "overlap":
        [row] = _evaluate(spec, witness_tables(answer.witness, checked), answer.witness.now)
        assert row["a"] and row["b"]


def test_mece_entity_repeat_buyers_have_two_orders(registry):
    """An order after the first order: at least two orders — proved, so this pair never overlaps."""
    answer = Prover(_load(registry, "count(orders where ordered_at > entity.first_at) >= 1",
                          "count(orders) <= 1").check()).pair("a", "b")
    assert answer.kind in ("disjoint", "unknown")  # the abstract model may not see it; never "overlap"
    assert answer.kind != "overlap"
