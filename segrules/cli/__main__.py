"""``python -m segrules.cli``."""

from . import entry

entry()
