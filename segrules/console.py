"""How commands print and end, built-in and plugin commands alike: the consoles (:func:`make_console`;
``segrules.cli.console`` holds the built-in commands' pair, plugins make theirs through
``segrules.plugin``), the exit codes, and :func:`user_errors`.

Output that is not a terminal (a pipe, a file, a CI log) has no width: Rich would assume 80
columns (or ``$COLUMNS``) and cut the cells of a wider table (``desti…``, ``stat…``) or fold them
(a run id over two lines). There a table is as wide as its contents. Colour follows Rich's rules:
none when the output is not a terminal, none with ``NO_COLOR`` set, forced with ``FORCE_COLOR``.

Rich is imported when a console is made, not with this module, so that commands that print plain
lines (``--version``, ``validate``) do not import it."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator

import click

from .errors import SegrulesError

if TYPE_CHECKING:
    from rich.console import Console

# 0 ok, 1 a check failed on valid input (a finding, a violated property), 2 bad input (diagnostics)
EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2

UNBOUNDED = 100_000  # columns of output that is not a terminal: a table is as wide as its contents


def make_console(*, stderr: bool = False) -> "Console":
    """A Rich console on standard output (``stderr=True``: standard error, for progress and
    notes), as the built-in commands print with: no highlighting of numbers and paths; off a
    terminal, standard output is unbounded in width, so that no table cell is cut or wrapped;
    colour only on a terminal without ``NO_COLOR``. Make it when the command runs (it binds the
    stream the command writes to), not at import."""
    from rich.console import Console
    # soft_wrap: a message (a path, a run id) stays on one line however narrow the terminal or log
    console = Console(stderr=stderr, highlight=False, soft_wrap=not stderr)
    if not stderr and not console.is_terminal:
        console.width = UNBOUNDED
    return console


def show_diagnostics(text: str) -> None:
    """Diagnostics go to stderr unwrapped: the caret must stay under its column."""
    click.echo(text, err=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Show a :class:`SegrulesError` raised inside as diagnostics (file:line:col, quoted line,
    caret) on stderr, and exit :data:`EXIT_BAD_INPUT` (2)."""
    try:
        yield
    except SegrulesError as exc:
        show_diagnostics(exc.render())
        sys.exit(EXIT_BAD_INPUT)
