"""The one pair of consoles every command prints with (``out``, ``err``), exit codes, and how a
user error ends a command (diagnostics on stderr, exit 2).

The consoles are Rich consoles created on first use (PEP 562), so that a command that prints
plain lines (``--version``, ``validate``) does not import Rich. They, the exit codes and
:func:`user_errors` are defined in :mod:`segrules.console`, below the CLI, so that plugin commands
(through ``segrules.plugin``) print and exit exactly as the built-in ones do."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..console import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, make_console, show_diagnostics, user_errors

if TYPE_CHECKING:
    from rich.console import Console

    out: Console
    err: Console

__all__ = ["EXIT_OK", "EXIT_CHECK_FAILED", "EXIT_BAD_INPUT", "make_console", "show_diagnostics", "user_errors",
           "out", "err"]


def __getattr__(name: str):
    if name not in ("out", "err"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    console = globals()[name] = make_console(stderr=name == "err")
    return console
