"""``segrules changes``, ``plan`` and ``backfill``: the membership history (``run --snapshot``
stores the snapshots; see :mod:`segrules.history`)."""

from __future__ import annotations

import json
import math
import sys
from datetime import timedelta

import click

from ..errors import SpecError
from ..params import parse_params
from .console import out, user_errors
from .options import apply_limit, limit_option, lock_timeout_option, one_spec, param_option, spec_options, \
    state_option
from .registry import load_registry, sink_for


# --- changes ---------------------------------------------------------------------------------------
@click.command("changes")
@spec_options("spec", selects="spec")
@state_option()
@click.option("--since", "since", metavar="RUN", help="Events of every snapshot after RUN (a run id or "
              "prefix). Default: the events of the latest snapshot.")
@click.option("--out", "out_path", metavar="FILE", help="Write the events to FILE (.parquet, .csv, or any sink).")
@click.option("--table", "table_name", metavar="NAME", help="Write the events to table NAME of --db "
              "(replacing it).")
@click.option("--db", metavar="URL", help="Database for --table (default: the state store).")
@limit_option(20, "events printed")
def changes_command(specs, select, project, target, state_url, since, out_path, table_name, db, limit):
    """Enter/exit events between membership snapshots: key, segment, entered|exited, run, time."""
    from rich.table import Table

    from ..history.session import history
    with user_errors():
        chosen = one_spec("changes", specs, select, project, state_url=state_url, registry=load_registry())
        loaded, state_url = chosen.spec, chosen.state_url
        with history(state_url) as store:
            if since:
                events = store.events(loaded.name, after_seq=store.resolve(loaded.name, since).seq)
            else:
                events = store.events(loaded.name, run_id=store.resolve(loaded.name, "latest").run_id)
            table = events.to_pyarrow()
            schema = store.state.schema
            written = []
            if table_name and not db:
                store.con.create_table(table_name, table, overwrite=True, **({"database": schema} if schema else {}))
                written.append(f"table {table_name}")
        if table_name and db:
            from ..run import connect
            connect(db).create_table(table_name, table, overwrite=True)
            written.append(f"table {table_name}")
        if out_path:
            sink, target = sink_for(load_registry(), "--out", out_path)
            written.insert(0, sink.write(table, target, {}).target)
    show = Table(title=f"{loaded.name}: {table.num_rows:,} event{'s' * (table.num_rows != 1)}"
                 + (f" since {since}" if since else " in the latest snapshot"))
    for col in table.column_names:
        show.add_column(col)
    shown = table.slice(0, apply_limit(limit))
    for row in shown.to_pylist():
        show.add_row(*[str(v) for v in row.values()])
    out.print(show)
    if table.num_rows > shown.num_rows:
        out.print(f"… {table.num_rows - shown.num_rows:,} more (use --out, or --limit 0 for all)")
    for target in written:
        out.print(f"wrote {table.num_rows:,} events to {target}")


# --- plan ------------------------------------------------------------------------------------------
def _percent(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip().rstrip("%"))
    except ValueError:
        raise SpecError(f"--max-change {text!r}: expected a percentage such as 20%", code="SR754") from None
    if not math.isfinite(value):  # nan compares false with everything: it would turn the guard off
        raise SpecError(f"--max-change {text!r}: expected a finite percentage such as 20%", code="SR754")
    if value < 0:
        raise SpecError(f"--max-change {text!r}: must not be negative", code="SR754")
    return value


def format_plan(plans, baseline, as_of, fmt: str, limit: float | None) -> str:
    from rich.table import Table

    from ..history.diff import over_limit
    bad = {p.segment for p in over_limit(plans, limit)}
    if fmt == "json":
        return json.dumps({
            "against": baseline.run_id, "as_of": str(as_of), "max_change": limit, "over_limit": sorted(bad),
            "segments": [{**p.__dict__, "change": round(p.change, 2)} for p in plans]}, indent=2)
    rows = []
    for p in plans:
        sample = ", ".join([f"+{k}" for k in p.added_sample] + [f"−{k}" for k in p.removed_sample])
        flag = " ⚠" if p.segment in bad else ""
        rows.append((p.segment + flag, p.status, f"{p.before:,}", f"{p.after:,}", f"+{p.added:,}",
                     f"−{p.removed:,}", f"{p.unchanged:,}", f"{p.change:.1f}%", sample))
    head = ("segment", "status", "before", "after", "added", "removed", "unchanged", "change", "sample keys")
    title = f"Membership plan against snapshot `{baseline.run_id}` (as of {as_of:%Y-%m-%d %H:%M:%S})"
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    if bad:
        lines += ["", f"**{len(bad)} segment(s) change by more than {limit:g}%:** {', '.join(sorted(bad))}"]
    if fmt == "markdown":
        return "\n".join(lines)
    show = Table(title=title.replace("`", ""))
    for col in head:
        show.add_column(col, justify="right" if col in ("before", "after", "added", "removed", "unchanged",
                                                        "change") else "left")
    for r in rows:
        show.add_row(*r)
    # the command's console (make_console): off a terminal as wide as the table, so no column is cut
    with out.capture() as captured:
        out.print(show)
        if bad:
            out.print(f"{len(bad)} segment(s) change by more than {limit:g}%: {', '.join(sorted(bad))}")
    return captured.get().rstrip("\n")


@click.command("plan")
@spec_options("spec", selects="spec")
@click.option("--db", metavar="URL", help="DuckDB file or Ibis URL with the data (default: the spec's target).")
@click.option("--against", default="latest", show_default=True, metavar="latest|RUN",
              help="The snapshot to compare with: latest, or a run id (or unique prefix).")
@state_option()
@click.option("--as-of", "as_of", metavar="TIME", help="Evaluate the spec at TIME (default: the snapshot's as-of, "
              "so only the spec change shows).")
@param_option
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text",
              show_default=True, help="text, json, or a Markdown table for a pull-request comment.")
@click.option("--max-change", "max_change", metavar="PCT", help="Exit 1 when a segment's membership would "
              "change by more than PCT (e.g. 20%) of its size in the snapshot.")
@click.option("--samples", default=5, show_default=True, help="Sample keys added/removed per segment.")
def plan_command(specs, select, project, target, db, against, state_url, as_of, params, fmt, max_change, samples):
    """What membership a (changed) spec would have compared with a snapshot: per segment the
    members added, removed and unchanged, with sample keys. Exit 1 over --max-change."""
    from ..history.diff import over_limit, plan_against
    from ..history.session import history
    from ..history.snapshots import MembershipQuery
    from ..run import connect
    with user_errors():
        limit = _percent(max_change)
        chosen = one_spec("plan", specs, select, project, target, db, state_url=state_url, registry=load_registry(),
                          needs_db=True)
        loaded, db, state_url = chosen.spec, chosen.db, chosen.state_url
        with history(state_url) as store:
            baseline = store.resolve(loaded.name, against)
        con = connect(db, read_only=True)
        now = loaded.now(as_of) if as_of else baseline.as_of
        matches, _ = MembershipQuery(loaded, con, parse_params(params)).matches(now)
        with history(state_url) as store:  # not held open while the spec is evaluated
            plans = plan_against(store, loaded, matches, baseline, samples)
    click.echo(format_plan(plans, baseline, now, fmt, limit))
    sys.exit(1 if over_limit(plans, limit) else 0)


# --- backfill --------------------------------------------------------------------------------------
def _every(text: str) -> timedelta:
    from ..lang.ast import DURATION_SECONDS
    from ..lang.lexicon import LiteralError, decode_duration
    try:
        if not text.strip()[:1].isdigit():
            raise LiteralError("bad_duration_unit", 0, len(text))
        amount, unit = decode_duration(text.strip())
    except LiteralError:
        raise SpecError(f"--every {text!r}: expected a duration such as 1d, 12h or 1w", code="SR753") from None
    return timedelta(seconds=amount * DURATION_SECONDS[unit])


def _time(spec, option: str, text: str):
    try:
        return spec.now(text)
    except SpecError:
        raise SpecError(f"{option} {text!r}: not a date or timestamp (use 2026-01-31 or 2026-01-31T10:00:00)",
                        code="SR753") from None


@click.command("backfill")
@spec_options("spec", selects="spec")
@click.option("--db", metavar="URL", help="DuckDB file or Ibis URL with the data (default: the spec's target).")
@click.option("--from", "start", metavar="TIME", required=True, help="First point in time (a date or timestamp).")
@click.option("--to", "end", metavar="TIME", required=True, help="Last point in time (included).")
@click.option("--every", default="1d", show_default=True, metavar="DURATION", help="Step: 1d, 12h, 1w…")
@state_option()
@param_option
@lock_timeout_option()
def backfill_command(specs, select, project, target, db, start, end, every, state_url, params, lock_timeout):
    """Evaluate point-in-time membership from --from to --to every --every and store a snapshot
    for each (one compiled plan, run once per point), e.g. for size-over-time charts."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..history.backfill import backfill, points_in_time
    from ..history.session import writing
    from ..run import connect
    from ..state.lock import parse_timeout, snapshot_lock
    from .console import err
    with user_errors():
        chosen = one_spec("backfill", specs, select, project, target, db, state_url=state_url,
                          registry=load_registry(), needs_db=True)
        loaded, db, state_url = chosen.spec, chosen.db, chosen.state_url
        times = list(points_in_time(_time(loaded, "--from", start), _time(loaded, "--to", end), _every(every)))
        con = connect(db, read_only=True)
        bars = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=err, transient=True)
        with snapshot_lock(state_url, loaded.name, parse_timeout(lock_timeout)), writing(state_url) as store, \
                bars as progress:
            task = progress.add_task(f"backfilling {loaded.name}", total=len(times))

            def report(done, total, info):
                progress.update(task, completed=done, description=f"backfilling {loaded.name} {info.as_of:%Y-%m-%d %H:%M}")
            store.clean_abandoned(loaded.name)
            runs = backfill(store, loaded, con, times, parse_params(params), progress=report)
    out.print(f"stored {len(runs)} snapshots of {loaded.name} from {times[0]} to {times[-1]} "
              f"in {store.state.location}")
