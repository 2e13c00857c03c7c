"""The rule of issue 12 for the whole tool: whatever ``validate`` accepts, ``run`` runs, on
DuckDB and (with SEGRULES_POSTGRES_URL) on PostgreSQL; what cannot run is rejected by
``validate`` with positioned diagnostics.  Specs of edge cases from tests/strategies_limits.py."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, event, given, settings

import segrules
from limits_helpers import Shop, outcome
from rfm_helpers import connect
from strategies_limits import limit_specs


@pytest.fixture(scope="module")
def shops():
    names = ["duckdb"] + (["postgres"] if os.environ.get("SEGRULES_POSTGRES_URL") else [])
    shops = [Shop(connect(name)) for name in names]
    yield shops
    for shop in shops:
        shop.drop()
        shop.con.disconnect()


# SEGRULES_PROPERTY_EXAMPLES=500 for a longer, still seeded, search (e.g. before a release)
@settings(max_examples=int(os.environ.get("SEGRULES_PROPERTY_EXAMPLES", "25")), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec=limit_specs())
def test_validate_accepts_then_run_runs_on_every_backend(shops, spec):
    verdicts = []
    for shop in shops:
        loaded = segrules.load_text(shop.spec(spec["segments"], spec["features"], spec["params"]),
                                    path="spec.yaml")
        kind, result = outcome(loaded, shop.con)  # anything but a diagnostic propagates and fails
        if kind == "rejected":
            assert all(d.span is not None and d.span.line > 0 for d in result), [d.message for d in result]
        verdicts.append((kind, sorted(d.code for d in result) if kind == "rejected" else None))
    assert all(v == verdicts[0] for v in verdicts), verdicts  # the backends agree on what is valid
    event(verdicts[0][0] if verdicts[0][0] == "ran" else f"rejected {verdicts[0][1]}")
