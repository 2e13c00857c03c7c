"""Options shared by several commands, defined once so that they are spelled and mean the same
everywhere."""

from __future__ import annotations

import click

from ..errors import SpecError
# spec arguments, --select, --project, --target: defined below the CLI, for plugin commands too
from ..project.options import SELECT_HELP, one_spec, project_option, select_option, spec_options, target_option  # noqa: F401,E501

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
    (``--segments ,,,``)."""
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise SpecError(f"{option} {value!r}: no segment names (give them comma-separated, e.g. "
                        f"{option} vip,churned)", code="SR112")
    return names
