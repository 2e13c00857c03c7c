"""The ``segrules`` command line: a thin layer over the Python API (:mod:`segrules.api`).

One module per command group (``check``: validate, ``compile``, ``run``: run and preview,
``history``: changes, plan and backfill, ``sync``: sync and sync-log, ``testing``: test,
``info``: schema, plugins and demo-data), imported when its command is called
(:data:`segrules.cli.app.BUILTIN`); the options, consoles, exit codes, registry and sink lookup
they share are written once (``options``, ``console``, ``registry``).  Nothing outside this
package imports it.

Exit codes: 0 ok, 1 a check failed, 2 bad input (spec errors, bad options, unreachable database).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from .. import __version__

if TYPE_CHECKING:
    from .app import main

__all__ = ["entry", "main"]

VERSION = f"segrules, version {__version__}"  # what click's version option prints


def entry() -> None:
    """The ``segrules`` console script. ``segrules --version`` answers before the command line
    parser is imported (the one call that needs nothing else); everything else goes to
    :func:`segrules.cli.app.entry`."""
    if sys.argv[1:] == ["--version"]:
        print(VERSION)
        return
    from .app import entry as run
    run()


def __getattr__(name: str):
    if name != "main":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .app import main as value  # the click group (tests invoke it with click's CliRunner)
    globals()[name] = value
    return value
