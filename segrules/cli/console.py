"""The one pair of consoles every command prints with (``out``, ``err``), exit codes, and how a
user error ends a command (diagnostics on stderr, exit 2).

The consoles are Rich consoles created on first use (PEP 562), so that a command that prints
plain lines (``--version``, ``validate``) does not import Rich."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING

import click

from ..errors import SegrulesError

if TYPE_CHECKING:
    from rich.console import Console

    out: Console
    err: Console

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2


UNBOUNDED = 100_000  # columns of output that is not a terminal: a table is as wide as its contents


def _console(stderr: bool) -> "Console":
    from rich.console import Console
    # soft_wrap: a message (a path, a run id) stays on one line however narrow the terminal or log
    console = Console(stderr=stderr, highlight=False, soft_wrap=not stderr)
    if not stderr and not console.is_terminal:
        # a pipe or a CI log has no width: Rich would assume 80 columns and cut the cells of a wider
        # table (`desti…`, `stat…`) or fold them (a run id over two lines)
        console.width = UNBOUNDED
    return console


def __getattr__(name: str):
    if name not in ("out", "err"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    console = globals()[name] = _console(stderr=name == "err")
    return console


def show_diagnostics(text: str) -> None:
    """Diagnostics go to stderr unwrapped: the caret must stay under its column."""
    click.echo(text, err=True)


@contextmanager
def user_errors():
    """Show a SegrulesError as diagnostics (file:line:col, quoted line, caret), exit 2."""
    try:
        yield
    except SegrulesError as exc:
        show_diagnostics(exc.render())
        sys.exit(EXIT_BAD_INPUT)
