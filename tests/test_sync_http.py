"""The shared HTTP layer and batching: vendor rate-limit signals, backoff bounds, give-up, and
batches that respect count and byte limits (a hypothesis property)."""

from __future__ import annotations

import email.utils
import time

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from segrules.errors import SinkError
from segrules.plugin import Limits, Row
from segrules.sync.batching import row_bytes, split_batches
from segrules.sync.http import HttpClient, HttpOptions, Vendor, ratelimit_reset, retry_after
from emulators.server import EmulatorServer, Faults


def _response(status=429, headers=None, body=None):
    return httpx.Response(status, headers=headers or {}, json=body)


def test_http_retry_after_seconds_and_http_date():
    assert retry_after(_response(headers={"Retry-After": "7"})) == 7
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < retry_after(_response(headers={"Retry-After": later})) <= 31
    assert retry_after(_response()) is None


def test_http_ratelimit_reset_epoch():
    assert 8 < ratelimit_reset(_response(headers={"X-RateLimit-Reset": str(int(time.time()) + 10)})) <= 10
    assert ratelimit_reset(_response(headers={"X-RateLimit-Reset": "1"})) == 0.0


def test_http_hubspot_policy_body():
    from segrules_hubspot import policy_wait
    wait = policy_wait(10.0)
    assert wait(_response(body={"policyName": "TEN_SECONDLY_ROLLING"})) == 10.0
    assert wait(_response(body={"policyName": "SECONDLY"})) == 1.0
    assert wait(_response(body={"policyName": "DAILY"})) > 60


def test_http_mailchimp_bare_403_is_a_rate_limit_but_a_problem_document_is_not():
    from segrules_mailchimp import rate_limited
    assert rate_limited(httpx.Response(403)) and rate_limited(httpx.Response(429))
    assert not rate_limited(_response(403, body={"title": "Forbidden", "status": 403}))


def test_http_backoff_is_jittered_and_capped():
    client = HttpClient("http://127.0.0.1:9", HttpOptions(backoff_base=0.5, backoff_cap=4.0), Vendor("x"))
    waits = [client.backoff(attempt) for attempt in range(12) for _ in range(20)]
    client.close()
    assert max(waits) <= 4.0 and min(waits) >= 0 and len(set(waits)) > 100


class _Always(EmulatorServer):
    def __init__(self, status, headers=None, body=None, **kw):
        super().__init__(**kw)
        self.answer = (status, body, headers or {})

    def handle(self, request):
        return self.answer


def test_http_gives_up_after_max_attempts_and_sleeps_what_the_vendor_says():
    slept = []
    with _Always(429, {"Retry-After": "3"}) as server:
        client = HttpClient(server.url, HttpOptions(max_attempts=4), Vendor("v"), sleep=slept.append)
        with pytest.raises(SinkError) as info:
            client.request("GET", "/x")
        client.close()
    assert info.value.diagnostics[0].code == "SR821" and len(slept) == 4
    assert all(3 <= s < 3.1 for s in slept) and client.retries == 3


def test_http_wait_longer_than_max_wait_fails_at_once():
    slept = []
    with _Always(429, {"Retry-After": "3600"}) as server:
        client = HttpClient(server.url, HttpOptions(max_wait=60), Vendor("v"), sleep=slept.append)
        with pytest.raises(SinkError, match="longer than max_wait"):
            client.request("GET", "/x")
        client.close()
    assert slept == []


def test_http_dropped_connections_and_5xx_are_retried_until_success():
    faults = Faults(rate_drop=0.4, rate_5xx=0.4, seed=2)
    with _Always(200, body={"ok": True}, faults=faults) as server:
        client = HttpClient(server.url, HttpOptions(max_attempts=40), Vendor("v"), sleep=lambda s: None)
        assert all(client.request("GET", "/x").json() == {"ok": True} for _ in range(10))
        client.close()
    assert client.retries >= 5 and set(faults.injected) == {"rate_drop", "rate_5xx"}


def test_http_secrets_are_scrubbed_from_vendor_answers():
    with _Always(400, body={"detail": "bad key sk_live_123"}) as server:
        client = HttpClient(server.url, HttpOptions(), Vendor("v"), secrets=("sk_live_123",))
        with pytest.raises(SinkError) as info:
            client.request("GET", "/x")
        client.close()
    assert "sk_live_123" not in str(info.value) and "***" in str(info.value)


ROWS = st.lists(st.tuples(st.text(max_size=30), st.dictionaries(st.sampled_from("abc"), st.text(max_size=60))),
                max_size=60)


@given(ROWS, st.integers(1, 10), st.one_of(st.none(), st.integers(40, 400)))
def test_batching_respects_count_and_bytes_and_loses_nothing(rows, max_rows, max_bytes):
    rows = [Row(str(i), ident, fields) for i, (ident, fields) in enumerate(rows)]
    batches, too_large = split_batches(rows, Limits(max_rows, max_bytes))
    assert all(0 < len(b) <= max_rows for b in batches)
    if max_bytes:
        assert all(sum(row_bytes(r) for r in b) <= max_bytes for b in batches)
        assert all(row_bytes(r) > max_bytes for r, _ in too_large)
    sent = [r for b in batches for r in b]
    assert sorted(r.key for r in sent + [r for r, _ in too_large]) == sorted(r.key for r in rows)
    skipped = {r.key for r, _ in too_large}
    assert [r.key for r in sent] == [r.key for r in rows if r.key not in skipped]
