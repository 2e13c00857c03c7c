"""The service's background threads: evaluation (:class:`~.service.Service`) and each outlet
(:mod:`.delivery`) run one :class:`Worker` each."""

from __future__ import annotations

import threading
from typing import Callable


class Worker:
    """A daemon thread that calls ``work()`` when woken (:meth:`wake`) or after ``timeout()``
    seconds; an exception from ``work`` goes to ``failed`` and the thread goes on (the work is
    retried on the next round: nothing it did not commit is lost)."""

    def __init__(self, name: str, work: Callable[[], object], timeout: Callable[[], float],
                 failed: Callable[[Exception], None]):
        self.name, self.work, self.timeout, self.failed = name, work, timeout, failed
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the round in progress."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(max(0.0, self.timeout()))
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self.work()
            except Exception as exc:  # reported by `failed`; the next round retries
                self.failed(exc)
