"""``segrules run`` (membership counts, ``--out``, ``--snapshot``) and ``segrules preview``."""

from __future__ import annotations

import json
from contextlib import ExitStack

import click

from ..errors import SpecError
from ..params import parse_params
from .console import err, out, user_errors
from .options import FormatChoice, apply_limit, as_of_option, limit_option, lock_timeout_option, param_option, \
    segments_option, split_names, state_option
from .registry import load_registry, sink_for


@click.command("run")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--db", metavar="URL", required=True, help="DuckDB file or Ibis URL (postgres://, ...).")
@as_of_option
@param_option
@segments_option
@click.option("--out", "out_path", metavar="FILE", help="Write the membership to FILE (.parquet or .csv).")
@click.option("--layout", type=click.Choice(["long", "wide"]), default="long", show_default=True,
              help="--out layout: long = one row per (segment, key); wide = one row per entity with a "
              "boolean per segment and the features.")
@click.option("--format", "fmt", type=FormatChoice(["text", "json"], renamed={"long": "--layout long",
                                                                             "wide": "--layout wide"}),
              default="text", show_default=True, metavar="[text|json]",
              help="Output format: text (a table), or json (the counts, universe, output file and snapshot).")
@click.option("--snapshot", is_flag=True, help="Store the membership in the state store's history (run id, "
              "spec hash, as-of, counts; see `segrules changes`).")
@state_option(" for --snapshot")
@lock_timeout_option()
def run(spec, db, as_of, params, segments, out_path, layout, fmt, snapshot, state_url, lock_timeout):
    """Evaluate every segment; print members and share of the universe per segment. With
    --snapshot, one snapshot of a spec runs at a time (see --lock-timeout)."""
    from .. import api
    from ..run import counts, counts_from_arrow, materialize, to_long
    if fmt in ("long", "wide"):  # the old spelling of --layout (warned about by FormatChoice)
        layout, fmt = fmt, "text"
    with user_errors(), ExitStack() as held:
        registry = load_registry()
        loaded = api.load(spec, registry=registry)
        sink = None
        if out_path:
            sink, out_path = sink_for(registry, "--out", out_path)
        names = split_names(segments)
        if snapshot and names:
            raise SpecError("--snapshot stores every segment of the spec; leave out --segments", code="SR756")
        if snapshot:  # taken before the evaluation: the snapshot must follow the one committed before it
            from ..state.lock import parse_timeout, snapshot_lock
            held.enter_context(snapshot_lock(state_url, loaded.name, parse_timeout(lock_timeout)))
        con = api.connect(db, read_only=True)
        as_of_time = loaded.now(as_of)
        wide = loaded.evaluate(con, as_of=as_of_time, params=parse_params(params), segments=names,
                               features=True if names is None else [])
        names = names or loaded.segments
        written = stored = None
        with err.status(f"Evaluating {len(names)} segments as of {as_of_time:%Y-%m-%d %H:%M:%S}…"):
            if sink is None and not snapshot:
                result = counts(wide, names)
            else:
                table = materialize(wide)
                result = counts_from_arrow(table, names)
            if sink is not None:
                data = to_long(table, loaded.key, names) if layout == "long" else table
                written = sink.write(data, out_path, {})
        if snapshot:
            from ..history.session import store_snapshot
            stored = store_snapshot(loaded, table, as_of_time, state_url)
    if fmt == "json":
        click.echo(json.dumps(run_payload(loaded, as_of_time, result, written, layout, stored), indent=2))
    else:
        _print_run(loaded, as_of_time, result, written, layout, stored)


def run_payload(spec, as_of, result, written, layout: str, stored) -> dict:
    """``run --format json``: what the text output shows, as data."""
    return {
        "spec": spec.name, "path": spec.path, "as_of": as_of.isoformat(sep=" "),
        "entity_table": spec.model.entity.table, "universe": result[0].universe if result else None,
        "segments": [{"segment": row.segment, "members": row.members, "share": row.share} for row in result],
        "output": None if written is None else {"target": written.target, "rows": written.rows, "layout": layout},
        "snapshot": None if stored is None else {
            "run_id": stored.run.run_id, "seq": stored.run.seq, "location": stored.location,
            "entered": stored.entered, "exited": stored.exited, "cleaned": stored.cleaned},
    }


def _print_run(spec, as_of, result, written, layout: str, stored) -> None:
    from rich.table import Table
    show = Table(title=spec.name, caption=f"as of {as_of:%Y-%m-%d %H:%M:%S}")
    show.add_column("segment")
    show.add_column("members", justify="right")
    show.add_column("share", justify="right")
    for row in result:
        show.add_row(row.segment, f"{row.members:,}", f"{row.share:.1%}")
    out.print(show)
    if result:
        out.print(f"universe: {result[0].universe:,} {spec.model.entity.table}")
    if written is not None:
        out.print(f"wrote {written.rows:,} rows ({layout}) to {written.target}")
    if stored is not None:
        line = (f"snapshot {stored.run.run_id} (#{stored.run.seq}) stored in {stored.location} "
                f"(+{stored.entered:,} entered, −{stored.exited:,} exited)")
        if stored.cleaned:
            line += (f"; removed the rows of {len(stored.cleaned)} run(s) killed before they committed: "
                     f"{', '.join(stored.cleaned)}")
        out.print(line)


@click.command("preview")
@click.argument("spec", type=click.Path(dir_okay=False))
@click.argument("segment")
@click.option("--db", metavar="URL", required=True, help="DuckDB file or Ibis URL.")
@limit_option(10, "members shown")
@as_of_option
@param_option
def preview(spec, segment, db, limit, as_of, params):
    """Show sample members of SEGMENT with the values that put them there."""
    from rich.table import Table

    from .. import api
    from ..preview import preview_members
    with user_errors():
        loaded = api.load(spec, registry=load_registry())
        con = api.connect(db, read_only=True)
        table = preview_members(loaded, con, segment, limit=apply_limit(limit), as_of=as_of,
                                params=parse_params(params))
    show = Table(title=f"{segment}: {table.num_rows} sample member{'s' * (table.num_rows != 1)}")
    for name in table.column_names:
        show.add_column(name, overflow="fold")
    for row in table.to_pylist():
        show.add_row(*["∅" if v is None else str(v) for v in row.values()])
    out.print(show)
