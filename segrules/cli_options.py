"""Options shared by several commands, defined once so they mean the same everywhere.

Lives beside ``cli.py`` (not in it) so that the command modules of other packages
(``history/commands.py``, ``sync/cli.py``) can import it at module level without an import cycle.
"""

from __future__ import annotations

import click

LIMIT_HELP = "0: all"


def limit_option(default: int | None, what: str, default_text: str | None = None):
    """``--limit N``: at most N rows (N >= 0); ``--limit 0`` means no limit (all rows)."""
    shown = default_text or f"default {default}"
    return click.option("--limit", type=click.IntRange(min=0), default=default, metavar="N",
                        help=f"Most {what} ({shown}; {LIMIT_HELP}).")


def apply_limit(limit: int | None) -> int | None:
    """The row count to cut at, or None for all: ``--limit 0`` (and no ``--limit`` where the
    default is all) mean every row."""
    return limit or None


def lock_timeout_option(what: str = "snapshot of the spec"):
    return click.option("--lock-timeout", "lock_timeout", default="0s", show_default=True, metavar="DURATION",
                        help=f"With another {what} running, wait this long for it (30s, 10min) "
                        "before failing with SR757.")
