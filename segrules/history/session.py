"""The history store opened for one operation, with the driver's errors turned into SR755, and
``run --snapshot``'s storing of an evaluated membership."""

from __future__ import annotations

from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime

from ..errors import BackendError, SegrulesError
from .snapshots import matches_from_wide, snapshot
from .store import HistoryStore, RunInfo

DAMAGED = "the state store is damaged: restore it, or use another one (--state)"


def open_store(url: str | None) -> HistoryStore:
    try:
        return HistoryStore.open(url)
    except SegrulesError:
        raise
    except Exception as exc:  # the backend's own error types
        raise BackendError(f"cannot open the history tables: {type(exc).__name__}: {exc}", code="SR755") from None


@contextmanager
def history(url: str | None, failed: str = "reading the history in {where} failed", hint: str | None = DAMAGED):
    """The history store at ``url``, open while the block runs; a damaged store (a truncated
    file, a table changed by hand) or a refused write is SR755, never the driver's exception."""
    store = open_store(url)
    try:
        yield store
    except SegrulesError:
        raise
    except Exception as exc:
        raise BackendError(f"{failed.format(where=store.state.location)}: {type(exc).__name__}: {exc}",
                           code="SR755", hint=hint) from None
    finally:
        with suppress(Exception):  # closing a broken connection may fail again; the error above says why
            store.state.close()  # and a DuckDB file is free for the next process as soon as possible


def writing(url: str | None):
    """:func:`history` for a write: a failure leaves the previous snapshot intact."""
    return history(url, "writing the snapshot failed (the previous one is intact)", hint=None)


@dataclass(frozen=True)
class StoredSnapshot:
    """A snapshot stored by :func:`store_snapshot`: the run, where, the events it recorded, and
    the runs killed before they committed whose rows were removed first."""
    run: RunInfo
    location: str
    entered: int
    exited: int
    cleaned: list[str]


def store_snapshot(spec, wide, now: datetime, state_url: str | None) -> StoredSnapshot:
    """Under the spec's snapshot lock (the caller holds it): remove the rows of runs killed before
    they committed, then store the membership of the evaluated ``wide`` table (key and a boolean
    per segment, as Arrow) at ``now``."""
    with writing(state_url) as store:
        cleaned = store.clean_abandoned(spec.name)
        info = snapshot(store, spec, matches_from_wide(wide, spec), wide.num_rows, now)
        counts = store.counts(info.run_id).to_pyarrow().to_pylist()
    return StoredSnapshot(info, store.state.location, sum(c["entered"] for c in counts),
                          sum(c["exited"] for c in counts), cleaned)
