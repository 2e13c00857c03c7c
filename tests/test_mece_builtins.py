"""The MECE prover and the population, hash and calendar functions: ranks, buckets and
add_months are opaque values with the facts that hold for every population (their range, when
they are null), days_between/hours_between are modelled exactly.  Never a wrong proof: what is
proved holds, what does not hold is never proved."""

from __future__ import annotations

import pytest

import segrules
from segrules_mece.prover import prove

SPEC = """\
version: 1
name: t
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
params: {tiles: 4}
features:
  spend: sum(orders.amount)
segments:
%s
schema:
  customers: {customer_id: '!int64', email: string, ltv: float64, signup_at: '!timestamp'}
  orders: {customer_id: int64, ordered_at: timestamp, amount: float64}
"""


def _proof(segments: dict[str, str]):
    body = "".join(f"  {name}: {{where: \"{rule}\"}}\n" for name, rule in segments.items())
    spec = segrules.load_text(SPEC % body)
    return prove(spec.check(), "tax", list(segments))


def _answers(proof):
    return [p.kind for p in proof.pairs], proof.gap.kind


@pytest.mark.parametrize("segments, pairs, gap", [
    # the same rank on both sides: a split of whoever has a rank; spend (a sum) is never null
    ({"top": "percent_rank(spend) >= 0.9", "rest": "percent_rank(spend) < 0.9"}, ["disjoint"], "exhaustive"),
    # ltv may be null, and then so is its rank: not exhaustive, and no exact witness can be built
    ({"top": "percent_rank(ltv) >= 0.9", "rest": "percent_rank(ltv) < 0.9"}, ["disjoint"], "unknown"),
    # the tiles are 1..$tiles for a non-null value
    ({"low": "ntile(spend, $tiles) <= 2", "high": "ntile(spend, $tiles) in (3, 4)"}, ["disjoint"], "exhaustive"),
    ({"low": "ntile(spend, $tiles) <= 2", "high": "ntile(spend, $tiles) == 3"}, ["disjoint"], "unknown"),
    # top_n is never null: true or false for everyone
    ({"top": "top_n(ltv, 10)", "rest": "not top_n(ltv, 10)"}, ["disjoint"], "exhaustive"),
    # a bucket of a non-null key is 0..n-1
    ({"holdout": "bucket(customer_id, 'spring', 10) == 0", "treated": "bucket(customer_id, 'spring', 10) >= 1"},
     ["disjoint"], "exhaustive"),
    # other salts are other hashes: neither proved disjoint nor exhaustive
    ({"holdout": "bucket(customer_id, 'spring', 10) == 0", "treated": "bucket(customer_id, 'autumn', 10) >= 1"},
     ["unknown"], "unknown"),
    # different ranks of the same value are not related
    ({"top": "top_n(spend, 10)", "bottom": "percent_rank(spend) < 0.5"}, ["unknown"], "unknown"),
    # days_between is exact: a real witness for the overlap of two windows
    ({"recent": "days_between(signup_at, now) < 30", "older": "days_between(signup_at, now) >= 30"},
     ["disjoint"], "exhaustive"),
    ({"recent": "days_between(signup_at, now) <= 30", "older": "hours_between(signup_at, now) >= 720"},
     ["overlap"], "exhaustive"),
    ({"month": "add_months(signup_at, 1) > now", "older": "add_months(signup_at, 1) <= now"},
     ["disjoint"], "exhaustive"),
])
def test_mece_builtins_proofs_hold(segments, pairs, gap):
    assert _answers(_proof(segments)) == (pairs, gap)


def test_mece_builtins_overlap_witness_is_real_data():
    proof = _proof({"recent": "days_between(signup_at, now) <= 30", "older": "hours_between(signup_at, now) >= 720"})
    (pair,) = proof.pairs
    assert pair.kind == "overlap" and pair.witness is not None
