"""One writer at a time per spec (snapshots) and per sync, in a state store.

``run --snapshot`` and ``backfill`` take the spec's snapshot lock *before* they evaluate the spec
and hold it until the snapshot is committed, so each snapshot is diffed against the one committed
before it (never two against the same one) and its sequence number cannot collide.  ``sync``
takes the lock of each of its syncs before it computes their changes, for the same reason.

* PostgreSQL (any ``URL#schema`` store): a session-level advisory lock on a key derived from the
  schema and the spec name, held by a connection of its own.  The server frees it when that
  connection ends, so a killed run never leaves a stale lock.
* A DuckDB file: an exclusive ``flock`` on ``<state file>.snapshot-<spec>.lock`` (``.sync-<name>.lock``)
  beside it, which
  records who holds it (pid, host, since).  The kernel frees it when the process ends.  The
  DuckDB file itself is not held open while the spec is evaluated, so other specs' snapshots and
  readers (``changes``, ``plan``) are not blocked by a long evaluation.

A second writer waits up to ``--lock-timeout`` (default ``0s``: it fails at once, like
Terraform's state lock) and then fails with SR757, naming the holder and since when it runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from ..errors import BackendError, SpecError
from ..run.connect import redact
from . import DEFAULT_STATE_PATH, open_state

POLL_SECONDS = 0.1
LOCKABLE = ("postgres", "postgresql")  # URL schemes of state stores with a lock (advisory locks)
_TIMEOUT = re.compile(r"\s*(\d{1,7})\s*(s|min|m|h)?\s*")
_UNIT = {None: 1, "s": 1, "min": 60, "m": 60, "h": 3600}

# Who holds an advisory lock: its key is split into (classid, objid) in pg_locks.
_PG_HOLDER = ("select a.pid, a.backend_start, a.client_addr, a.application_name from pg_locks l "
              "join pg_stat_activity a "
              "on a.pid = l.pid where l.locktype = 'advisory' and l.granted and l.objsubid = 1 "
              "and l.classid = %s and l.objid = %s limit 1")


def parse_timeout(text: str | None) -> float:
    """``--lock-timeout``: ``0``, ``30s``, ``5min`` (or ``5m``), ``1h``; a bare number is seconds."""
    match = _TIMEOUT.fullmatch(text or "0")
    if match is None:
        raise SpecError(f"--lock-timeout {text!r}: expected a duration such as 0, 30s, 5min or 1h", code="SR753")
    return float(int(match.group(1)) * _UNIT[match.group(2)])


def _busy(what: str, since: str, who: str, timeout: float) -> BackendError:
    waited = f"; waited {timeout:g}s" if timeout else ""
    return BackendError(f"another {what} is running since {since} ({who}){waited}",
                        code="SR757", hint="wait for it to finish, or let this one wait: --lock-timeout 10min")


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def snapshot_lock(state_url: str | Path | None, spec_name: str, timeout: float = 0.0):
    """Hold the snapshot lock of ``spec_name`` in the state store at ``state_url`` (waiting up to
    ``timeout`` seconds for it); SR757 when another process holds it longer."""
    return state_lock(state_url, f"snapshot-{spec_name}", f"snapshot of spec {spec_name!r}", timeout)


@contextmanager
def sync_locks(state_url: str | Path | None, syncs: list[str], timeout: float = 0.0) -> Iterator[None]:
    """Hold the lock of every sync in ``syncs`` (taken in name order, so two runs cannot each
    wait for a lock the other holds)."""
    with ExitStack() as held:
        for name in sorted(set(syncs)):
            held.enter_context(state_lock(state_url, f"sync-{name}", f"run of sync {name!r}", timeout))
        yield


@contextmanager
def state_lock(state_url: str | Path | None, resource: str, what: str, timeout: float = 0.0) -> Iterator[None]:
    """Hold the lock named ``resource`` (an identifier-like name) of the state store at
    ``state_url``; ``what`` names it in the SR757 message."""
    if state_url is not None and "://" in str(state_url):
        scheme = str(state_url).split("://", 1)[0].lower()
        if scheme not in LOCKABLE:  # checked before connecting: a Spark session takes ~20 s to start
            raise BackendError(f"--state {redact(str(state_url))}: a {what} needs a lock that keeps a second writer "
                               f"out, and a {scheme} state store has none (segrules locks a DuckDB file or a "
                               "PostgreSQL schema)", code="SR759",
                               hint="keep the state in a DuckDB file (the default) or PostgreSQL "
                               "(--state postgres://…#schema); the data can stay where it is (--db)")
        with _advisory_lock(str(state_url), resource, what, timeout):
            yield
    else:
        path = Path(state_url) if state_url is not None else DEFAULT_STATE_PATH
        with _file_lock(lock_path(path, resource), what, timeout):
            yield


def _key(schema: str, resource: str) -> tuple[int, int, int]:
    """A stable 64-bit key for the (schema, resource) pair, and its two 32-bit halves (as pg_locks shows it)."""
    digest = hashlib.blake2b(f"segrules lock\0{schema}\0{resource}".encode(), digest_size=8).digest()
    key = int.from_bytes(digest, "big", signed=True)
    return key, (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF


@contextmanager
def _advisory_lock(url: str, resource: str, what: str, timeout: float) -> Iterator[None]:
    store = open_state(url)  # a connection of its own: the lock lives as long as it does
    try:
        raw = store.con.con
        key, high, low = _key(store.schema or "", resource)
        deadline = time.monotonic() + timeout
        while not _pg_query(raw, "select pg_try_advisory_lock(%s)", key):
            if time.monotonic() >= deadline:
                raise _busy(what, *_pg_holder(raw, high, low), timeout)
            time.sleep(POLL_SECONDS)
        # who holds it, for the message of the next one who wants it (pg_stat_activity shows it)
        _pg_query(raw, "select set_config('application_name', %s, false)",
                  f"segrules {datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%S} {os.getpid()}@{socket.gethostname()}"[:63])
        try:
            yield
        finally:
            _pg_query(raw, "select pg_advisory_unlock(%s)", key)
    finally:
        store.close()


def _pg_query(raw, sql: str, value):
    """One fixed statement with one bound parameter; its first value."""
    with raw.cursor() as cursor:
        cursor.execute(sql, (value,))
        return cursor.fetchone()[0]


def _pg_holder(raw, high: int, low: int) -> tuple[str, str]:
    """(since, who) of the session holding the advisory lock (high, low), as pg_locks shows it."""
    with raw.cursor() as cursor:
        cursor.execute(_PG_HOLDER, (high, low))
        row = cursor.fetchone()
    if row is None:  # released a moment ago
        return "an unknown time", "it has just ended"
    pid, since, client, name = row
    since_text = since.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    parts = (name or "").split(" ", 2)  # segrules <since> <pid>@<host>, set by the holder
    if len(parts) == 3 and parts[0] == "segrules" and "@" in parts[2]:
        client_pid, host = parts[2].split("@", 1)
        return parts[1].replace("T", " ") + " UTC", f"pid {client_pid} on {host}"
    return since_text, f"PostgreSQL backend pid {pid}, client {client or 'local'}"


def lock_path(state: Path, resource: str) -> Path:
    return state.with_name(f"{state.name}.{resource}.lock")


@contextmanager
def _file_lock(path: Path, what: str, timeout: float) -> Iterator[None]:
    import fcntl  # POSIX; imported here so that the rest of segrules imports where it is missing

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise BackendError(f"cannot create the lock file {path}: {exc.strerror or exc}", code="SR704") from None
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _read_holder(fd)
                    raise _busy(what, holder.get("since", "an unknown time"),
                                f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}", timeout) from None
                time.sleep(POLL_SECONDS)
        # the file is never removed (removing a lock file races with a waiter that opened it)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": _stamp(),
                                  "lock": what}).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0).decode() or "{}")
    except (OSError, ValueError):
        return {}
