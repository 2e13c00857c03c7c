"""The retry budget of one run of a sync: a cap on retries and on the total time spent waiting
for rate limits, shared by every call (and thread) of the run.

A vendor that keeps failing or throttling cannot hold a run for hours: when the budget is spent
the call raises :class:`~segrules.plugin.RetryBudgetSpent` (SR826), the engine stops sending,
keeps every acknowledgement received so far and ends the sync ``partial``; the next run sends
the rest (state never claims more than was acknowledged)."""

from __future__ import annotations

import threading

from ..plugin.destinations import RetryBudgetSpent


class RetryBudget:
    """``retries``: retries allowed in the run (None: no cap); ``wait``: seconds of rate-limit
    waits allowed in the run (None: no cap).  Thread-safe."""

    def __init__(self, retries: int | None = None, wait: float | None = None):
        self.retries, self.wait = retries, wait
        self.retries_spent = 0
        self.wait_spent = 0.0
        self._lock = threading.Lock()

    def spend_retry(self, what: str) -> None:
        """Count one retry of ``what``; RetryBudgetSpent when the run has none left."""
        with self._lock:
            if self.retries is not None and self.retries_spent >= self.retries:
                raise RetryBudgetSpent(f"retry budget spent: {self.retries} retries in this run "
                                       f"(last: {what}); the next run sends the rest")
            self.retries_spent += 1

    def spend_wait(self, seconds: float, what: str) -> None:
        """Account for a rate-limit wait of ``seconds`` before it is slept."""
        with self._lock:
            if self.wait is not None and self.wait_spent + seconds > self.wait:
                raise RetryBudgetSpent(f"rate-limit wait budget spent: {self.wait_spent:.0f}s waited of "
                                       f"{self.wait:.0f}s allowed in this run, {seconds:.0f}s more asked "
                                       f"({what}); the next run sends the rest")
            self.wait_spent += seconds
