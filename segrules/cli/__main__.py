"""``python -m segrules.cli``."""

from .app import entry

entry()
