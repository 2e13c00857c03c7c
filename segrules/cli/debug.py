"""``segrules debug``: each spec's connection checked, and the tables and columns it reads."""

from __future__ import annotations

import os
from pathlib import Path

import click

from ..diagnostics import Diagnostic, render, render_all
from ..errors import SegrulesError
from ..project.options import db_option, spec_options
from .console import EXIT_CHECK_FAILED, EXIT_OK, show_diagnostics, user_errors
from .registry import load_registry


def shown_db(db) -> str:
    """A database as the output shows it: secrets masked (:func:`segrules.run.redact`), a DuckDB
    file under the current folder relative to it."""
    from ..run.targets import DuckDBTarget, describe, from_url
    found = from_url(db) if db is None or isinstance(db, str) else db
    if isinstance(found, DuckDBTarget) and not found.memory:
        path = Path(str(found.path))
        try:
            return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd().resolve()) else str(path)
        except ValueError:
            return str(path)
    return describe(found)


@click.command("debug")
@spec_options()
@db_option
def debug_command(specs, select, project, target, db):
    """Check the database of each spec (its target, --target or --db): that it connects, and
    which tables and columns the spec reads, present or missing. SPECS: files, folders or globs;
    none: the project's specs (no project: only the connection of --target or --db). Exit 0 when
    everything is there, 1 when a connection fails or a table or column is missing, 2 for an
    invalid spec or project."""
    from ..project import load_project
    from ..project.options import database, selection
    from ..project.resolve import Selection
    with user_errors():
        registry = load_registry()
        if not specs and load_project(project) is None and (db or target):
            resolved = None if db else Selection(None).target(None, target)  # type: ignore[arg-type]
            url, name = (db, None) if resolved is None else (resolved.db, resolved.name)
    if not specs and load_project(project) is None and (db or target):
        con = _connection(url, name)
        if con is not None:
            con.disconnect()
        raise SystemExit(EXIT_OK if con is not None else EXIT_CHECK_FAILED)
    with user_errors():
        chosen = selection(specs, select, project, registry=registry)
        plan = []
        for item in chosen:
            if item.error is not None:
                raise item.error
            plan.append((item, database(chosen, item, db, target)))
    connections: dict = {}
    try:
        failed = _check(plan, connections)
    finally:
        for con in connections.values():
            if con is not None:
                con.disconnect()
    raise SystemExit(EXIT_CHECK_FAILED if failed else EXIT_OK)


def _check(plan, connections: dict) -> bool:
    """Each spec's database connected once; True when anything failed or is missing."""
    failed = False
    for item, where in plan:
        if where.url is None:
            click.echo(f"{item.path}: no database ({f'target {where.target!r} has no db:' if where.target else 'no --db'})"
                       ", skipped")
            continue
        key = where.url
        if key not in connections:
            connections[key] = _connection(where.url, where.target)
        con = connections[key]
        if con is None:
            failed = True
            click.echo(f"{item.path}: not checked, its database does not connect")
            continue
        failed |= not _spec(item.path, item.spec, con)
    return failed


def _connection(url, target: str | None):
    """Connect and say so; the connection, or None (the error shown)."""
    from ..run import connect
    name = f"target {target}: " if target else ""
    try:
        con = connect(url, read_only=True)
        tables = len(con.list_tables())
    except SegrulesError as exc:
        click.echo(f"{name}{shown_db(url)}: connection failed")
        show_diagnostics(exc.render())
        return None
    except Exception as exc:  # listing the tables is the first query; its driver error is the message
        click.echo(f"{name}{shown_db(url)}: connection failed")
        from ..run.targets import scrub
        show_diagnostics(render(Diagnostic("SR701", scrub(f"{type(exc).__name__}: {exc}", url))))
        return None
    click.echo(f"{name}{shown_db(url)}: connection ok ({con.name}, {tables} table{'s' * (tables != 1)})")
    return con


def _spec(path: str, spec, con) -> bool:
    """Print what ``spec`` reads from ``con``; True when everything is there."""
    from ..run.debug import spec_needs
    needs = spec_needs(spec, con)
    missing = [t.name for t in needs.tables if not t.present]
    columns = sum(len(t.missing) for t in needs.tables)
    state = ("all present" if needs.ok else f"{len(missing)} missing" if missing else
             f"{columns} column{'s' * (columns != 1)} missing" if columns else "the check failed (below)")
    click.echo(f"{path}: {len(needs.tables)} table{'s' * (len(needs.tables) != 1)}, {state}")
    width = max(len(t.name) for t in needs.tables)
    for t in needs.tables:
        listed = ", ".join(t.columns) + (f"; missing: {', '.join(t.missing)}" if t.missing else "")
        click.echo(f"  {t.name.ljust(width)}  {listed if t.present else 'MISSING'}")
    if needs.diagnostics:
        show_diagnostics(render_all(needs.diagnostics))
    return needs.ok
