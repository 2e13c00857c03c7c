"""The one pair of consoles every command prints with, exit codes, and how a user error ends a
command (diagnostics on stderr, exit 2)."""

from __future__ import annotations

import sys
from contextlib import contextmanager

import click
from rich.console import Console

from ..errors import SegrulesError

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2

# soft_wrap: a message (a path, a run id) stays on one line however narrow the terminal or log
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


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
