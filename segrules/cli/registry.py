"""The plugin registry of one command line call, and what the CLI looks up in it."""

from __future__ import annotations

import click

from ..diagnostics import render
from ..errors import SpecError
from .console import show_diagnostics

# Set by the console script (app.entry), never by an import: a process that runs one command can
# freeze what it imported; a long-lived one (tests invoking many commands) must not.
FREEZE_IMPORTS = {"after_registry": False}


def load_registry():
    """The registry of the installed plugins, built once per command line call (the group and
    the command share it); plugins that failed to load are shown once, as diagnostics."""
    import gc

    from .. import api
    ctx = click.get_current_context(silent=True)
    meta = ctx.find_root().meta if ctx is not None else {}
    registry = meta.get("segrules.registry")
    if registry is None:
        registry = meta["segrules.registry"] = api.default_registry()
        for problem in registry.problems:
            show_diagnostics(render(problem))
        if FREEZE_IMPORTS["after_registry"]:
            # the modules imported by now live as long as the process: keep the collector from
            # walking their objects again while the plan is built (about 0.06 s of a 50-segment run)
            gc.freeze()
    return registry


def sink_for(registry, option: str, target: str, code: str = "SR803"):
    """The sink that writes ``target`` (``--out members.parquet``, ``--out csv:members.txt``) and
    the target it writes to; ``code`` (SR803) naming the known kinds when no sink writes it."""
    sink, where = registry.sink_for(target)
    if sink is None:
        suffixes = sorted(s for d in registry.sinks.values() for s in d.suffixes)
        raise SpecError(f"{option} {target}: no sink writes this kind of file (known: {', '.join(suffixes)})",
                        code=code)
    return sink, where
