"""Membership history in the state store: snapshots of each run (``run --snapshot``), enter/exit
events (``changes``), stability controls (``min_days_in``, ``cooldown_days``), ``plan`` against a
snapshot and ``backfill`` over a date range.  Tables are prefixed ``history_``; see
docs/history.md."""

from .store import HistoryStore, RunInfo
from .snapshots import evaluate_matches, snapshot

__all__ = ["HistoryStore", "RunInfo", "evaluate_matches", "snapshot"]
