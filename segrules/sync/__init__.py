"""Audience sync: keep marketing destinations equal to segment memberships, incrementally and
crash-safely (docs/sync.md).  Destinations are plugins (``register_destinations``).  The Python
entry is :meth:`segrules.Spec.sync` (:mod:`segrules.sync.session`).

The engine's names are imported when first used (PEP 562): it needs Ibis and Arrow, which
checking a spec's ``syncs:`` section (:mod:`segrules.sync.config`) does not."""

from __future__ import annotations

from .config import PlannedSync, plan_syncs

__all__ = ["PlannedSync", "plan_syncs", "Outcome", "SyncRun", "SyncState", "SyncResult"]


def __getattr__(name: str):
    if name == "Outcome":
        from .engine import Outcome as value
    elif name == "SyncRun":
        from .engine import SyncRun as value
    elif name == "SyncState":
        from .state import SyncState as value
    elif name == "SyncResult":
        from .session import SyncResult as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value
