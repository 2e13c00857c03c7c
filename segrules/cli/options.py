"""Options shared by several commands, defined once so that they are spelled and mean the same
everywhere."""

from __future__ import annotations

import click

from ..errors import SpecError
# spec arguments, --select, --project, --target, renamed options' warning: defined below the CLI, for
# plugin commands too
from ..project.options import (RENAMED_IN, SELECT_HELP, SELECTORS, one_spec, project_option,  # noqa: F401
                               select_option, spec_options, target_option, warn_renamed)

LIMIT_HELP = "0: all"

as_of_option = click.option("--as-of", "as_of", metavar="TIME",
                            help="Evaluate as of this date/time (sets `now`; later source rows are ignored).")
param_option = click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                            help="Override a spec parameter; repeatable.")


def state_option(purpose: str = ""):
    """``--state URL``: the state store (history snapshots, sync state, locks)."""
    return click.option("--state", "state_url", metavar="URL",
                        help=f"State store{purpose}: a DuckDB file (default .segrules/state.duckdb) or an "
                        "Ibis URL[#schema].")


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


def split_names(value: str | None, option: str = "--segments") -> list[str] | None:
    """``A,B`` -> ``["A", "B"]``; None when the option is not given; SR112 when it names nothing
    (``--segments ,,,``). Every option naming several things takes this list form."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        what = "sync" if option == "--sync" else "segment"
        raise SpecError(f"{option} {value!r}: no {what} names (give them comma-separated, e.g. "
                        f"{option} vip,churned)", code="SR112")
    return names


segments_option = click.option("--segments", metavar="A,B", help="Only these segments (comma-separated).")

# --- renamed options: the old spelling works for one more release, with a warning on stderr ---------
# (RENAMED_IN and warn_renamed are defined below the CLI, for plugin commands' renamed arguments too)


def renamed_option(old: str, new: str, name: str, **kwargs):
    """The old spelling ``old`` of the option now called ``new``: hidden from ``--help``, still
    accepted; using it prints :func:`warn_renamed`."""
    def warn(ctx, param, value):
        if value not in (None, (), False):
            warn_renamed(old, new)
        return value
    return click.option(old, name, hidden=True, callback=warn, expose_value=True, **kwargs)


class FormatChoice(click.Choice):
    """``--format``: the output format (``choices``); ``renamed`` maps a value the option took
    before it meant the output format to its new spelling (``run --format wide`` -> ``--layout
    wide``): still accepted, with :func:`warn_renamed`."""

    def __init__(self, choices, renamed: dict[str, str] | None = None):
        super().__init__(list(choices))
        self.renamed = dict(renamed or {})

    def convert(self, value, param, ctx):
        if value in self.renamed:
            warn_renamed(f"--format {value}", self.renamed[value])
            return value
        return super().convert(value, param, ctx)
