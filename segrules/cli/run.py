"""``segrules run`` (membership counts, ``--out``, ``--snapshot``) and ``segrules preview``."""

from __future__ import annotations

import json
from contextlib import ExitStack

import click

from ..errors import SpecError
from ..params import parse_params
from .console import err, out, user_errors
from .options import FormatChoice, apply_limit, as_of_option, limit_option, lock_timeout_option, param_option, \
    project_option, segments_option, spec_options, split_names, state_option, target_option
from .registry import load_registry, sink_for


@click.command("run")
@spec_options()
@click.option("--db", metavar="URL", help="DuckDB file or Ibis URL (postgres://, ...); default: the spec's "
              "target in segrules.yml.")
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
              help="Output format: text (tables), or json (per spec: the counts, universe, output file and "
              "snapshot; a list when several specs run).")
@click.option("--snapshot", is_flag=True, help="Store the membership in the state store's history (run id, "
              "spec hash, as-of, counts; see `segrules changes`).")
@state_option(" for --snapshot")
@lock_timeout_option()
def run(specs, select, project, target, db, as_of, params, segments, out_path, layout, fmt, snapshot, state_url,
        lock_timeout):
    """Evaluate every segment; print members and share of the universe per segment, with their
    tags and owners. SPECS: files, folders or globs; none: the project's specs (segrules.yml),
    each on its target's database. With --snapshot, one snapshot of a spec runs at a time (see
    --lock-timeout)."""
    from ..project.options import database, note, selection
    if fmt in ("long", "wide"):  # the old spelling of --layout (warned about by FormatChoice)
        layout, fmt = fmt, "text"
    payloads = []
    with user_errors():
        registry = load_registry()
        chosen = selection(specs, select, project, registry=registry)
        if out_path or len(chosen) == 1:
            chosen.one("run --out" if out_path else "run")
        if chosen.project is not None and state_url is None:
            state_url = chosen.project.state_url()
        for item in chosen:
            if item.error is not None:
                raise item.error
            where = database(chosen, item, db, target, as_of)
            if where.url is None and len(chosen) > 1:
                note(f"{item.path}: skipped, target {where.target!r} has no database")
                continue
            names = split_names(segments) or item.segments
            spec, as_of_time, result, written, stored = _run_spec(
                item.spec, registry, where.required(item), where.as_of, parse_params(params), names, out_path,
                layout, snapshot, state_url, lock_timeout)
            if fmt == "json":
                payloads.append(run_payload(spec, as_of_time, result, written, layout, stored))
            else:
                _print_run(spec, as_of_time, result, written, layout, stored)
    if fmt == "json":
        click.echo(json.dumps(payloads[0] if len(payloads) == 1 else payloads, indent=2))


def _run_spec(loaded, registry, db, as_of, params, names, out_path, layout, snapshot, state_url, lock_timeout):
    from .. import api
    from ..run import counts, counts_from_arrow, materialize, to_long
    with ExitStack() as held:
        sink = None
        if out_path:
            sink, out_path = sink_for(registry, "--out", out_path)
        if snapshot and names:
            raise SpecError("--snapshot stores every segment of the spec; leave out --segments and --select",
                            code="SR756")
        if snapshot:  # taken before the evaluation: the snapshot must follow the one committed before it
            from ..state.lock import parse_timeout, snapshot_lock
            held.enter_context(snapshot_lock(state_url, loaded.name, parse_timeout(lock_timeout)))
        con = api.connect(db, read_only=True)
        as_of_time = loaded.now(as_of)
        wide = loaded.evaluate(con, as_of=as_of_time, params=params, segments=names,
                               features=True if names is None else [])
        names = names or loaded.segments
        written = None
        with err.status(f"Evaluating {len(names)} segments as of {as_of_time:%Y-%m-%d %H:%M:%S}…"):
            if sink is None and not snapshot:
                result = counts(wide, names)
            else:
                table = materialize(wide)
                result = counts_from_arrow(table, names)
            if sink is not None:
                data = to_long(table, loaded.key, names) if layout == "long" else table
                written = sink.write(data, out_path, {})
        stored = None
        if snapshot:
            from ..history.session import store_snapshot
            stored = store_snapshot(loaded, table, as_of_time, state_url)
    return loaded, as_of_time, result, written, stored


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
    out.print(counts_table(spec, result, as_of))
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


def counts_table(spec, result, as_of_time):
    """Members and share per segment; tags and owner columns when a segment of the spec has them."""
    from rich.table import Table
    own = spec.model.segments
    tags = any(seg.tags for seg in own.values())
    owners = any(seg.owner for seg in own.values())
    show = Table(title=spec.name, caption=f"as of {as_of_time:%Y-%m-%d %H:%M:%S}")
    show.add_column("segment")
    show.add_column("members", justify="right")
    show.add_column("share", justify="right")
    if tags:
        show.add_column("tags")
    if owners:
        show.add_column("owner")
    for row in result:
        seg = own.get(row.segment)
        extra = ([", ".join(seg.tags) if seg else ""] if tags else []) + \
            ([(seg.owner or "") if seg else ""] if owners else [])
        show.add_row(row.segment, f"{row.members:,}", f"{row.share:.1%}", *extra)
    return show


@click.command("preview")
@click.argument("args", nargs=-1, required=True, metavar="[SPEC] SEGMENT")
@project_option
@target_option
@click.option("--db", metavar="URL", help="DuckDB file or Ibis URL; default: the spec's target in segrules.yml.")
@limit_option(10, "members shown")
@as_of_option
@param_option
def preview(args, project, target, db, limit, as_of, params):
    """Show sample members of SEGMENT with the values that put them there. Without SPEC: the
    project's spec that has SEGMENT."""
    from rich.table import Table

    from .. import api
    from ..preview import preview_members
    from ..project.options import database, selection
    *specs, segment = args
    with user_errors():
        chosen = selection(specs, [] if specs else [segment], project, registry=load_registry())
        item = chosen.one("preview")
        if item.error is not None:
            raise item.error
        where = database(chosen, item, db, target, as_of)
        con = api.connect(where.required(item), read_only=True)
        table = preview_members(item.spec, con, segment, limit=apply_limit(limit), as_of=where.as_of,
                                params=parse_params(params))
    show = Table(title=f"{segment}: {table.num_rows} sample member{'s' * (table.num_rows != 1)}")
    for name in table.column_names:
        show.add_column(name, overflow="fold")
    for row in table.to_pylist():
        show.add_row(*["∅" if v is None else str(v) for v in row.values()])
    out.print(show)
