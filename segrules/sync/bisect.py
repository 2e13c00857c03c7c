"""Batch bisection: a batch the vendor refuses as a whole (:class:`~segrules.plugin.BatchRejected`,
e.g. a 400 naming one bad record) is split and the parts sent again until the refused rows are
isolated.  Every good row is delivered; a row is rejected only when the vendor refused a batch of
that row alone, with the vendor's own message.

An answer that cannot vouch for every row (``BatchResult.incomplete``: a per-row error list the
vendor truncated) has its unvouched rows sent again in halves, which smaller answers can list
whole.

The split is uneven on purpose (golden ratio, the smaller part first).  When the first part is
accepted, the refusal lies in the second part, so that part is split at once instead of being
sent whole again.  Resolving one bad row in a batch of ``n`` then costs at most about
``log_phi(n) + 1 ≈ 1.44·log2(n) + 1`` extra requests (11 for n = 100, 18 for n = 2,500), within
the ``2·log2(n)`` an even split that resends both halves would need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..plugin.destinations import BatchRejected, BatchResult, Row

PHI2 = (3 + 5 ** 0.5) / 2  # phi squared: the first part is n / phi^2 ~ 38% of the rows

Send = Callable[[str, list[Row]], BatchResult]


@dataclass
class Delivery:
    """What sending one batch (bisected if need be) gave: the acknowledged parts in order, the
    number of requests, and the failure that stopped it (the parts before it still count)."""

    parts: list[tuple[list[Row], BatchResult]] = field(default_factory=list)
    requests: int = 0
    error: BaseException | None = None


def split(rows: list[Row]) -> tuple[list[Row], list[Row]]:
    """Two non-empty parts of ``rows`` (at least two rows), the first the smaller."""
    cut = min(len(rows) - 1, max(1, round(len(rows) / PHI2)))
    return rows[:cut], rows[cut:]


class _Bisection:
    def __init__(self, send: Send, op: str, delivery: Delivery):
        self.send, self.op, self.d = send, op, delivery

    def attempt(self, rows: list[Row]) -> BatchRejected | None:
        """Send ``rows``; their result is kept; the refusal is returned (others propagate)."""
        self.d.requests += 1
        try:
            result = self.send(self.op, rows)
        except BatchRejected as exc:
            return exc
        self.d.parts.append((rows, result))
        if result.incomplete:
            self.unvouched(rows, result)
        return None

    def unvouched(self, rows: list[Row], result: BatchResult) -> None:
        """An answer that could not vouch for some rows (a truncated error list): send those
        again in halves, whose smaller answers can list every error; a single row still
        unvouched is left for the next run."""
        left = [r for r in rows if r.key not in result.ok and r.key not in result.rejected]
        if not left or len(rows) == 1:
            return
        half = (len(left) + 1) // 2
        for part in (left[:half], left[half:]) if len(left) > 1 else (left,):
            refused = self.attempt(part)
            if refused is not None:
                self.resolve(part, refused, sent=True)

    def resolve(self, rows: list[Row], refusal: BatchRejected, sent: bool) -> None:
        """``rows`` hold a refused row: the vendor refused them (``sent``) or a batch whose other
        rows it then accepted.  Deliver the good ones, reject the refused ones."""
        if len(rows) == 1:
            if not sent:
                again = self.attempt(rows)
                if again is None:  # accepted alone: the refusal was about the batch, not this row
                    return
                refusal = again
            self.d.parts.append((rows, BatchResult(rejected={rows[0].key: str(refusal)})))
            return
        first, second = split(rows)
        refused = self.attempt(first)
        if refused is None:
            self.resolve(second, refusal, sent=False)
            return
        self.resolve(first, refused, sent=True)
        refused_second = self.attempt(second)
        if refused_second is not None:
            self.resolve(second, refused_second, sent=True)


def deliver(send: Send, op: str, rows: list[Row]) -> Delivery:
    """Send one batch with ``send(op, rows)``, bisecting it when the vendor refuses it whole.
    Never raises: a failure other than a refusal (SinkError, RetryBudgetSpent, a plugin's bug)
    ends the delivery and is returned in ``error`` with the parts acknowledged before it."""
    delivery = Delivery()
    bisection = _Bisection(send, op, delivery)
    try:
        refusal = bisection.attempt(rows)
        if refusal is not None:
            bisection.resolve(rows, refusal, sent=True)
    except BaseException as exc:  # handed to the engine, which decides (after storing the parts)
        delivery.error = exc
    return delivery
