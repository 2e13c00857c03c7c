"""Audience sync: keep marketing destinations equal to segment memberships, incrementally and
crash-safely (docs/sync.md).  Destinations are plugins (``register_destinations``).  The Python
entry is :meth:`segrules.Spec.sync` (:mod:`segrules.sync.session`).

The engine's names are imported when first used (PEP 562): it needs Ibis and Arrow, which
checking a spec's ``syncs:`` section (:mod:`segrules.sync.config`) does not."""

from __future__ import annotations

from ..lazy import lazy_exports

from .config import PlannedSync, plan_syncs

__all__ = ["PlannedSync", "plan_syncs", "Outcome", "SyncRun", "SyncState", "SyncResult"]


LAZY = {"Outcome": ".engine", "SyncRun": ".engine", "SyncState": ".state", "SyncResult": ".session"}
__getattr__ = lazy_exports(__name__, globals(), LAZY)
