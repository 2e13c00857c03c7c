"""A small threaded HTTP server for emulators, with fault injection."""

from __future__ import annotations

import collections
import json
import random
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Faults:
    """Random faults injected before a request is handled (each a probability per request):
    ``rate_429`` the vendor's rate-limit answer, ``rate_5xx`` a 500/502/503, ``rate_timeout`` a
    stall longer than the client's timeout (``stall`` seconds) before answering, ``rate_drop`` the
    connection closed without an answer, ``after`` a fault after the request was applied (the
    client sees a failure although the change happened: tests replay safety)."""

    rate_429: float = 0.0
    rate_5xx: float = 0.0
    rate_timeout: float = 0.0
    rate_drop: float = 0.0
    after: float = 0.0
    stall: float = 1.0
    seed: int | None = None

    def __post_init__(self):
        self.random = random.Random(self.seed)
        self.lock = threading.Lock()
        self.injected: dict[str, int] = {}

    def pick(self) -> str | None:
        with self.lock:
            roll = self.random.random()
            for name in ("rate_429", "rate_5xx", "rate_timeout", "rate_drop"):
                p = getattr(self, name)
                if roll < p:
                    self.injected[name] = self.injected.get(name, 0) + 1
                    return name
                roll -= p
            return None

    def pick_after(self) -> bool:
        with self.lock:
            hit = self.random.random() < self.after
            if hit:
                self.injected["after"] = self.injected.get("after", 0) + 1
            return hit


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    raw_query: str = ""  # the query string as sent (still URL-encoded)

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class Reply(Exception):
    """Raise from a handler to answer with ``status``, ``body`` (JSON-able) and ``headers``."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class EmulatorServer:
    """Base class: subclasses implement :meth:`handle` (return ``(status, body[, headers])``) and
    :meth:`rate_limited` (the vendor's 429 answer).  Use as a context manager; ``url`` is the base
    URL.  ``requests`` counts handled requests per ``"METHOD path"``."""

    json_type = "application/json"

    def __init__(self, faults: Faults | None = None):
        self.faults = faults or Faults()
        self.lock = threading.RLock()
        self.requests: dict[str, int] = {}
        self.log: list[Request] = []
        self.throttled = 0  # requests answered as rate-limited by over_burst
        self._recent: collections.deque[float] = collections.deque()  # accepted requests' times, last second
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parse_qs(parts.query),
                                  {k.lower(): v for k, v in self.headers.items()}, body, parts.query)
                emulator._dispatch(self, request)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- to implement ------------------------------------------------------------------
    def handle(self, request: Request) -> tuple:
        raise NotImplementedError

    def rate_limited(self) -> tuple:
        return 429, {"error": "rate limited"}, {"Retry-After": "0"}

    def over_burst(self, burst: int | None) -> bool:
        """True (and counted in ``throttled``) when ``burst`` requests were already accepted in the
        last second (a sliding window, so ``burst + 1`` requests within one second are always
        throttled, wherever the clock's second boundary falls): the emulator should answer with
        the vendor's rate-limit signal."""
        if burst is None:
            return False
        with self.lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            if len(self._recent) >= burst:
                self.throttled += 1
                return True
            self._recent.append(now)
        return False

    def remaining(self, burst: int) -> int:
        """Requests still allowed in the current one-second window."""
        with self.lock:
            return max(0, burst - len(self._recent))

    def reset_in(self) -> float:
        """Seconds until the oldest request in the window leaves it (0 when the window is empty)."""
        with self.lock:
            return max(0.0, self._recent[0] + 1.0 - time.monotonic()) if self._recent else 0.0

    # -- machinery ---------------------------------------------------------------------
    def _dispatch(self, handler, request: Request) -> None:
        fault = self.faults.pick()
        if fault == "rate_drop":
            self._drop(handler)
            return
        if fault == "rate_timeout":
            time.sleep(self.faults.stall)
        if fault == "rate_429":
            self._send(handler, *self.rate_limited())
            return
        if fault == "rate_5xx":
            self._send(handler, self.faults.random.choice((500, 502, 503)), {"error": "injected"})
            return
        try:
            with self.lock:
                self.log.append(request)
                name = f"{request.method} {request.path}"
                self.requests[name] = self.requests.get(name, 0) + 1
            answer = self.handle(request)
        except Reply as reply:
            answer = (reply.status, reply.body, reply.headers)
        if self.faults.pick_after():
            self._drop(handler)
            return
        self._send(handler, *answer)

    def _drop(self, handler) -> None:
        handler.close_connection = True
        try:
            handler.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _send(self, handler, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = b"" if body is None else body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        if data and not any(k.lower() == "content-type" for k in headers or {}):
            handler.send_header("Content-Type", self.json_type)
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)
