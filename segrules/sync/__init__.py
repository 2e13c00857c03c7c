"""Audience sync: keep marketing destinations equal to segment memberships, incrementally and
crash-safely (docs/sync.md).  Destinations are plugins (``register_destinations``)."""

from .config import PlannedSync, plan_syncs
from .engine import Outcome, SyncRun
from .state import SyncState

__all__ = ["PlannedSync", "plan_syncs", "Outcome", "SyncRun", "SyncState"]
