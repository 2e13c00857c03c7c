"""The HTTP layer every vendor destination shares (httpx, a timeout on every call).

* rate limits from the vendor's own signal: ``Retry-After`` (seconds or an HTTP date),
  ``X-RateLimit-Reset`` (epoch seconds), or a destination-specific reader (HubSpot's policy body);
  a bare 429 (Mailchimp) falls back to backoff;
* exponential backoff with full jitter and a cap for 5xx, timeouts and dropped connections;
* a bounded number of attempts, then :class:`~segrules.errors.SinkError` (SR821): the batch is not
  acknowledged and is sent again next run;
* a retry budget per run (``retry_budget`` retries, ``wait_budget`` seconds of rate-limit waits,
  over every call of the run): when spent, :class:`~segrules.plugin.RetryBudgetSpent` (SR826);
* a 2xx whose body does not parse where JSON is promised (:meth:`HttpClient.request_json`) is
  SR825, not an acknowledgement;
* async jobs polled to completion (:meth:`HttpClient.poll`).

Error messages quote the vendor's answer, never the request, with every secret scrubbed in every
form (raw, URL-encoded, base64 of Basic auth) BEFORE the answer is cut to length
(:mod:`segrules.sync.secrets`).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from pydantic import BaseModel, ConfigDict, Field

from ..errors import SinkError
from .budget import RetryBudget
from .secrets import Scrubber

if TYPE_CHECKING:  # httpx is imported when a client is made: every run loads the destination plugins
    import httpx


class HttpOptions(BaseModel):
    """Options every HTTP destination accepts besides its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: float = Field(30.0, gt=0, description="Seconds per HTTP call (connect, read, write).")
    max_attempts: int = Field(8, ge=1, description="Attempts per call before the batch is given up.")
    backoff_base: float = Field(0.5, ge=0, description="First backoff in seconds; doubles per attempt.")
    backoff_cap: float = Field(30.0, ge=0, description="Longest backoff in seconds.")
    max_wait: float = Field(300.0, ge=0, description="Longest rate-limit wait honoured, in seconds.")
    concurrency: int | None = Field(None, ge=1, description="Batches in flight at once (default: the vendor's).")
    retry_budget: int | None = Field(1000, ge=0, description="Retries allowed per run of a sync, over all its "
                                     "calls (null: no cap); when spent the run ends partial and the next resumes.")
    wait_budget: float | None = Field(1800.0, ge=0, description="Seconds of rate-limit waits allowed per run of a "
                                      "sync (null: no cap); when spent the run ends partial and the next resumes.")


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from ``Retry-After`` (an integer or an HTTP date)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def ratelimit_reset(response: httpx.Response) -> float | None:
    """Seconds until ``X-RateLimit-Reset`` (epoch seconds), or ``Retry-After``."""
    value = response.headers.get("X-RateLimit-Reset")
    if value is not None:
        try:
            return max(0.0, float(value) - time.time())
        except ValueError:
            pass
    return retry_after(response)


@dataclass(frozen=True)
class Vendor:
    """How one vendor signals trouble: ``is_rate_limited(response)`` (default: status 429) and
    ``wait(response)`` -> seconds to wait, or None to back off."""

    name: str
    is_rate_limited: Callable[[httpx.Response], bool] = lambda r: r.status_code == 429
    wait: Callable[[httpx.Response], float | None] = retry_after


class _ScrubLog(logging.Filter):
    """Scrubs the secrets from httpx's own log records (``HTTP Request: POST https://…?api_key=…``),
    for a program that turns logging on."""

    def __init__(self, scrubber: Scrubber):
        super().__init__()
        self.scrubber = scrubber

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = self.scrubber.scrub(record.getMessage()), ()
        return True


class HttpClient:
    """One destination's HTTP client: a shared connection pool, safe to use from threads."""

    def __init__(self, base_url: str, options: HttpOptions, vendor: Vendor, *, headers: dict[str, str] | None = None,
                 auth: Any = None, secrets: tuple[str, ...] = (), sleep: Callable[[float], None] = time.sleep,
                 params: dict[str, str] | None = None, budget: RetryBudget | None = None):
        import httpx

        self.options, self.vendor, self.secrets, self.sleep = options, vendor, secrets, sleep
        self.scrubber = Scrubber(secrets)
        self.budget = budget or RetryBudget(options.retry_budget, options.wait_budget)
        self.client = httpx.Client(base_url=base_url, headers=headers or {}, auth=auth, params=params,
                                   timeout=httpx.Timeout(options.timeout))
        self._lock = threading.Lock()
        self.retries = 0
        self._log_filter = _ScrubLog(self.scrubber)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(self._log_filter)

    def close(self) -> None:
        self.client.close()
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).removeFilter(self._log_filter)

    def scrub(self, text: str) -> str:
        """``text`` with every form of every secret masked."""
        return self.scrubber.scrub(text)

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**attempt)]."""
        return random.uniform(0, min(self.options.backoff_cap, self.options.backoff_base * 2 ** attempt))

    def _fail(self, code: str, what: str, response: httpx.Response | None = None) -> SinkError:
        detail = f": HTTP {response.status_code} {self.scrubber.cut(response.text, 300)}" if response is not None else ""
        return SinkError(self.scrub(f"{self.vendor.name}: {what}{detail}"), code=code)

    def request_json(self, method: str, path: str, **kwargs) -> Any:
        """:meth:`request`, and its body as JSON: a 2xx answer whose body is not JSON is SR825 (the
        batch is not acknowledged: such an answer vouches for nothing).  An empty 204 is None."""
        response = self.request(method, path, **kwargs)
        if response.status_code == 204 and not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise self._fail("SR825", f"{method} {path} answered {response.status_code} with a body that is not "
                             "JSON; nothing of the batch is taken as acknowledged", response) from None

    def request(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 202, 204),
                **kwargs) -> httpx.Response:
        """Send with retries; return the first response whose status is in ``ok``."""
        import httpx

        last = "no attempt"
        for attempt in range(self.options.max_attempts):
            if attempt:
                self.budget.spend_retry(last)
                with self._lock:
                    self.retries += 1
            try:
                response = self.client.request(method, path, timeout=self.options.timeout, **kwargs)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__} on {method} {path}"
                self.sleep(self.backoff(attempt))
                continue
            if self.vendor.is_rate_limited(response):
                wait = self.vendor.wait(response)
                if wait is not None and wait > self.options.max_wait:
                    raise self._fail("SR821", f"rate limited for {wait:.0f}s, longer than max_wait", response)
                last = f"rate limited (HTTP {response.status_code}) on {method} {path}"
                pause = self.backoff(attempt) if wait is None else wait + random.uniform(0, 0.05)
                self.budget.spend_wait(pause, last)
                self.sleep(pause)
                continue
            if response.status_code >= 500:
                last = f"HTTP {response.status_code} on {method} {path}"
                self.sleep(self.backoff(attempt))
                continue
            if response.status_code in ok:
                return response
            if response.status_code in (401, 403):
                raise self._fail("SR822", f"{method} {path} was refused: check the API key", response)
            raise self._fail("SR823", f"{method} {path} failed", response)
        raise SinkError(self.scrub(f"{self.vendor.name}: gave up after {self.options.max_attempts} attempts "
                                   f"({last})"), code="SR821")

    def poll(self, path: str, done: Callable[[dict], bool], *, interval: float = 1.0,
             timeout: float = 3600.0) -> dict:
        """GET ``path`` until ``done(json)``; SR824 when it takes longer than ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        delay = interval
        while True:
            body = self.request_json("GET", path)
            if done(body):
                return body
            if time.monotonic() > deadline:
                raise SinkError(f"{self.vendor.name}: job {path} did not finish within {timeout:.0f}s", code="SR824")
            self.sleep(delay)
            delay = min(delay * 1.5, 30.0)


class HttpDestination:
    """Base class of HTTP destination clients: ``self.http`` (an :class:`HttpClient`) is closed
    with the client."""

    http: HttpClient

    def close(self) -> None:
        self.http.close()
