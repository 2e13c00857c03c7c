"""``segrules sync`` and ``segrules sync-log``: audience sync (see :mod:`segrules.sync`)."""

from __future__ import annotations

import sys

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .. import api
from ..diagnostics import Diagnostic, render
from ..errors import SpecError
from ..params import parse_params
from ..state import open_state
from ..statuses import SyncStatus
from ..sync.engine import Outcome
from ..sync.dead import dead_table
from ..sync.state import SyncState
from .console import EXIT_CHECK_FAILED, EXIT_OK, err, out, show_diagnostics, user_errors
from .options import (apply_limit, as_of_option, limit_option, lock_timeout_option, one_spec, param_option,
                      renamed_option, spec_options, split_names, state_option)
from .registry import load_registry, sink_for

SHOWN_ROWS = 20  # rows shown without --limit (an export writes them all)
STYLE = {SyncStatus.OK: "green", SyncStatus.PARTIAL: "yellow", SyncStatus.FAILED: "red", SyncStatus.REFUSED: "red",
         SyncStatus.DRY_RUN: "cyan", SyncStatus.INTERRUPTED: "red"}


class _Bars:
    """Progress on stderr: a spinner while the changes are computed, then a bar per sync."""

    def __init__(self, progress: Progress):
        self.progress, self.tasks = progress, {}
        self.computing = progress.add_task("Computing the changes…", total=None)

    def start(self, sync, total):
        if self.computing is not None:
            self.progress.remove_task(self.computing)
            self.computing = None
        self.tasks[sync] = self.progress.add_task(sync, total=total)

    def advance(self, sync, rows):
        self.progress.advance(self.tasks[sync], rows)


def _summary(outcomes: list[Outcome], title: str) -> Table:
    show = Table(title=title)
    for col in ("sync", "destination", "mode", "added", "removed", "updated", "rejected", "retried", "status"):
        show.add_column(col, justify="right" if col in ("added", "removed", "updated", "rejected", "retried") else "left")
    for o in outcomes:
        c = o.counts
        show.add_row(o.sync, o.destination, o.mode, *[f"{c.get(k, 0):,}" for k in
                     ("added", "removed", "updated", "rejected", "retried")],
                     f"[{STYLE.get(o.status, 'white')}]{o.status}[/]")
    return show


def _details(o: Outcome, samples: bool) -> None:
    if o.error:
        out.print(f"[red]{o.sync}: {o.error}[/red]")
    if o.parked:
        out.print(f"{o.sync}: {o.parked:,} dead rows parked (refused in too many runs in a row; "
                  "segrules sync-log --dead lists them, --retry-dead sends them again)")
    for reason, n in sorted(o.reasons.items(), key=lambda kv: -kv[1]):
        out.print(f"{o.sync}: {n:,} rejected: {reason}")
    if not samples:
        return
    for op, rows in o.samples.items():
        out.print(f"[bold]{o.sync}[/bold] {op} (first {len(rows)}):")
        for row in rows:
            if isinstance(row, dict):
                out.print(f"  {row['key']}  {row['identifier'] or '∅'}  {row['problem']}")
            else:
                fields = ", ".join(f"{k}={v!r}" for k, v in row.fields.items())
                out.print(f"  {row.key}  {row.identifier}" + (f"  {fields}" if fields else ""))


@click.command("sync")
@spec_options("spec", selects="spec")
@click.option("--db", metavar="URL", help="DuckDB file or Ibis URL holding the spec's tables (default: the "
              "spec's target).")
@click.option("--sync", "names", multiple=True, metavar="A,B", help="Only these syncs (comma-separated or "
              "repeated; default: all).")
@click.option("--dry-run", is_flag=True, help="Show adds, removes, updates and rejected rows with samples; "
              "send nothing.")
@click.option("--full-resync", is_flag=True, help="Send every member again, as if nothing was acknowledged "
              "(removals still come from the state).")
@click.option("--retry-dead", is_flag=True, help="Send the dead rows again (rows the destination refused "
              "dead_after runs in a row, parked since; see sync-log --dead).")
@as_of_option
@param_option
@state_option()
@lock_timeout_option(what="run of the same sync")
def sync_command(specs, select, project, target, db, names, dry_run, full_resync, retry_dead, as_of, params,
                 state_url, lock_timeout):
    """Sync segment audiences to their destinations (the spec's syncs: section): send only what
    changed since the destination last acknowledged, add, remove and update in batches.
    One run of a sync at a time (see --lock-timeout). Exit 0 when every sync finished, 1 when
    one failed or max_removals refused the run (then nothing is sent), 2 on bad input."""
    with user_errors():
        registry = load_registry()
        chosen = one_spec("sync", specs, select, project, target, db, as_of, state_url, registry=registry,
                          needs_db=True)
        loaded = chosen.spec
        con = api.connect(chosen.db, read_only=True)
        click.get_current_context().call_on_close(con.disconnect)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True) as progress:
            selected = [n for value in names for n in split_names(value, "--sync")] or None
            result = loaded.sync(con, syncs=selected, state=chosen.state_url, as_of=chosen.as_of,
                                 params=parse_params(params), dry_run=dry_run, full_resync=full_resync,
                                 lock_timeout=lock_timeout, progress=_Bars(progress), retry_dead=retry_dead)
    if result.run_id is None:
        title = "dry run" if dry_run else "refused"
        out.print(_summary(result.outcomes, f"{loaded.name}: {title}, nothing sent"))
    else:
        out.print(_summary(result.outcomes, f"{loaded.name}: run {result.run_id}"))
    for o in result.outcomes:
        _details(o, samples=result.dry_run)
    if result.refused:
        refused = ", ".join(o.sync for o in result.refused)
        show_diagnostics(render(Diagnostic("SR820", f"max_removals refused {refused}; nothing was sent",
                                           hint="check the segment, or raise max_removals")))
    sys.exit(EXIT_OK if result.ok else EXIT_CHECK_FAILED)


@click.command("sync-log")
@state_option()
@click.option("--sync", "sync_name", metavar="NAME", help="Only this sync.")
@click.option("--run", "run_id", metavar="ID", help="Show the row-level changelog of this run (a prefix is enough).")
@limit_option(None, "rows shown or exported", default_text=f"default {SHOWN_ROWS} shown, every row exported")
@click.option("--out", "out_path", metavar="FILE", help="Write the rows to FILE (.csv or .parquet) instead "
              "of showing them (all of them unless --limit is given).")
@renamed_option("--export", "--out FILE", "export", metavar="FILE")
@click.option("--dead", is_flag=True, help="List the dead rows: refused by the destination in --dead-after "
              "runs in a row, parked until sync --retry-dead.")
@click.option("--dead-after", type=click.IntRange(min=1), default=3, show_default=True,
              help="With --dead: the spec's dead_after.")
def sync_log_command(state_url, sync_name, run_id, limit, out_path, export, dead, dead_after):
    """Show the sync run log (newest first): per run and sync, start and end, counts, status and
    error; with --run, that run's row-level changelog; with --dead, the parked dead rows."""
    option, export = ("--export", export) if export and not out_path else ("--out", out_path)
    if limit is None and not export:
        limit = SHOWN_ROWS
    with user_errors():
        state = SyncState(open_state(state_url))
        click.get_current_context().call_on_close(state.store.con.disconnect)
        if run_id and not state.store.has_table("sync_changes"):
            raise SpecError("the state store has no sync runs yet", code="SR772")
        if run_id and dead:
            raise SpecError("--dead lists the dead rows of every run: give --run or --dead", code="SR775")
        if run_id:
            state.resolve_run(run_id, sync_name)
        if dead:
            table = dead_table(state, sync_name, dead_after, apply_limit(limit))
        else:
            table = (state.changes(run_id, sync_name, apply_limit(limit)) if run_id
                     else state.runs(sync_name, apply_limit(limit)))
        if export:
            sink, target = sink_for(load_registry(), option, export, code="SR773")
            written = sink.write(table, target, {})
            out.print(f"wrote {written.rows:,} rows to {written.target}")
            return
    show = Table(title=f"sync changes of run {run_id}" if run_id else "dead rows" if dead else "sync runs")
    if dead:
        columns = ["sync", "key", "identifier", "op", "runs", "since", "reason"]
    elif run_id:
        columns = ["sync", "op", "status", "key", "identifier", "vendor_id", "reason"]
    else:
        columns = ["run_id", "sync", "started_at", "status", "added", "removed", "updated", "rejected", "retried",
                   "error"]
    for name in columns:
        show.add_column(name.replace("_at", ""), overflow="fold",
                        justify="right" if name in ("added", "removed", "updated", "rejected", "retried", "runs")
                        else "left")
    for row in table.select(columns).to_pylist():
        show.add_row(*["" if v is None else f"{v:%m-%d %H:%M:%S}" if hasattr(v, "strftime") else str(v)
                       for v in row.values()])
    out.print(show)
    if table.num_rows == 0:
        out.print("no dead rows" if dead else "no sync runs recorded" if not run_id
                  else f"no changes recorded for run {run_id}")
