"""``segrules compile``: the SQL of a spec's query plan."""

from __future__ import annotations

import click

from ..errors import SpecError
from ..params import parse_params
from .console import user_errors
from .options import as_of_option, param_option, renamed_option, segments_option, spec_options, split_names
from .registry import load_registry


@click.command("compile")
@spec_options("spec")
@segments_option
@renamed_option("--segment", "--segments A,B", "segment", multiple=True, metavar="NAME")
@click.option("--dialect", default="duckdb", show_default=True,
              help="SQL dialect: duckdb, postgres, snowflake, bigquery, trino, spark, ... (any sqlglot dialect).")
@click.option("--db", metavar="URL", help="Read table schemas from this database instead of the schema: block.")
@as_of_option
@click.option("--now", "now_mode", type=click.Choice(["literal", "live"]),
              help="literal: now is the --as-of time (default: the current time), written into the SQL; live: the "
              "engine's current timestamp in the spec's time zone, so the SQL can be a view (duckdb, postgres, spark). "
              "Default: literal, and live with --dbt.")
@click.option("--dbt", "dbt_dir", metavar="DIR", type=click.Path(file_okay=False),
              help="Write one dbt model per spec (its wide membership table) with a sources.yml for the tables "
              "they read under DIR/models/segrules (and DIR/dbt_project.yml if there is none); SPECS: every "
              "selected spec.")
@param_option
def compile_command(specs, select, project, target, segments, segment, dialect, db, as_of, now_mode, dbt_dir,
                    params):
    """Print the SQL of the spec's single query plan. SPEC: a spec file; none: the one spec of
    the project that --select picks (its selected segments). With --dbt DIR: write every
    selected spec as a dbt model instead."""
    import sqlglot

    from ..project.options import selection
    with user_errors():
        chosen = selection(specs, select, project, registry=load_registry())
        try:  # the dialect first: a ValueError from compiling the spec is not about the dialect
            sqlglot.Dialect.get_or_raise(dialect)
        except ValueError as exc:  # sqlglot: unknown dialect
            raise SpecError(f"--dialect {dialect}: {exc}", code="SR111") from None
        live = now_mode == "live" or (now_mode is None and dbt_dir is not None and as_of is None)
        if live and as_of is not None:
            raise SpecError("--now live and --as-of: the live SQL reads the engine's clock; give one of them",
                            code="SR113")
        names = [*(split_names(segments) or []), *segment] or None
        if dbt_dir is None:
            item = chosen.one("compile")
            click.echo(_compiled(chosen, item, db, target, dialect, live, as_of, names or item.segments, params)[0])
            return
        from ..dbt import spec_model, write_project
        models = []
        for item in chosen:
            sql, checked = _compiled(chosen, item, db, target, dialect, live, as_of, names or item.segments, params)
            models.append(spec_model(item.spec, sql, checked))
        written = write_project(dbt_dir, models)
    for path in written:
        click.echo(f"wrote {path}")


def _compiled(chosen, item, db, target, dialect, live, as_of, names, params):
    """One spec's SQL, and the spec checked (on --db / --target's tables, else its schema: block)."""
    from .. import api
    from ..project.options import database
    if item.error is not None:
        raise item.error
    url = database(chosen, item, db, target).url if db or target else None
    con = api.connect(url, read_only=True) if url else None
    try:
        if live:
            from ..compile.live import live_now
            as_of = live_now(item.spec.timezone, dialect)
        sql = item.spec.to_sql(dialect, con=con, segments=names, as_of=as_of, params=parse_params(params))
        return sql, item.spec.check(con)
    finally:
        if con is not None:
            con.disconnect()
