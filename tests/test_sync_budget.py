"""The retry budget of a run: retries and rate-limit waits counted over every call of the run,
RetryBudgetSpent (SR826) when spent; nothing is slept beyond the wait budget."""

from __future__ import annotations

import pytest

from segrules.plugin import HttpClient, HttpOptions, RetryBudget, RetryBudgetSpent, Vendor
from emulators import TrackingEmulator
from emulators.echo import EchoServer


def test_sync_budget_rate_limit_waits_stop_at_the_wait_budget():
    slept: list[float] = []
    options = HttpOptions(wait_budget=1.0, max_attempts=100, retry_budget=None)
    with EchoServer(status=429) as echo:  # a bare 429: backoff, counted as rate-limit wait
        client = HttpClient(echo.url, HttpOptions(**{**options.model_dump(), "backoff_base": 0.3, "backoff_cap": 0.3}),
                            Vendor("echo"), sleep=slept.append)
        try:
            with pytest.raises(RetryBudgetSpent) as info:
                client.request("POST", "/x")
        finally:
            client.close()
    assert info.value.diagnostics[0].code == "SR826" and "rate-limit wait budget spent" in str(info.value)
    assert sum(slept) <= 1.0 and len(slept) >= 3


def test_sync_budget_is_shared_by_the_calls_of_a_run():
    budget = RetryBudget(retries=3)
    options = HttpOptions(max_attempts=10, backoff_base=0.0)
    with TrackingEmulator("k") as em:  # every request a 5xx: each call retries until the budget is spent
        em.faults.rate_5xx = 1.0
        clients = [HttpClient(em.url, options, Vendor("t"), budget=budget, sleep=lambda s: None) for _ in range(2)]
        try:
            with pytest.raises(RetryBudgetSpent):
                clients[0].request("POST", "/v1/batch")
            with pytest.raises(RetryBudgetSpent, match="3 retries"):
                clients[1].request("POST", "/v1/batch")  # nothing left for the second call
        finally:
            for c in clients:
                c.close()
    assert budget.retries_spent == 3 and em.faults.injected["rate_5xx"] == 5  # 4 tries, then 1


def test_sync_budget_none_means_no_cap():
    budget = RetryBudget(None, None)
    for _ in range(10_000):
        budget.spend_retry("x")
    budget.spend_wait(1e9, "x")
    assert budget.retries_spent == 10_000
