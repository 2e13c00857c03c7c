"""The ``segrules`` command line: a thin layer over the Python API (:mod:`segrules.api`).

One module per command group (``check``: validate, ``compile``, ``run``: run and preview,
``history``: changes, plan and backfill, ``sync``: sync and sync-log, ``testing``: test,
``info``: schema, plugins and demo-data); the options, consoles, exit codes, registry and sink
lookup they share are written once (``options``, ``console``, ``registry``).  Nothing outside
this package imports it.

Exit codes: 0 ok, 1 a check failed, 2 bad input (spec errors, bad options, unreachable database).
"""

from .app import entry, main

__all__ = ["entry", "main"]
