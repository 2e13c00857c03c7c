"""Command-line options for spec selection, shared by the built-in commands and plugin commands:
spec arguments (files, folders, globs; none = the project), ``--select``, ``--project`` and
``--target``; and what a command does with them (:func:`selection`, :func:`database`, and for a
command that reports on every selected spec :func:`command_specs`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Callable, Iterable

import click

from ..errors import SpecError

if TYPE_CHECKING:  # pydantic and the spec loader are imported when a command selects specs
    from .resolve import Chosen, Selection

SELECT_HELP = ("Only these segments: NAME, tag:TAG, owner:OWNER, path:GLOB, spec:NAME; +NAME adds what it "
               "depends on, NAME+ what depends on it; comma-separated or repeated: a union (docs/project.md).")


project_option = click.option("--project", "project", metavar="PATH", type=click.Path(),
                              help="The project file segrules.yml, or its folder (default: found by walking "
                              "up from the current folder).")
target_option = click.option("--target", metavar="NAME", help="The target (named database) to use: one of "
                             "segrules.yml, else a profile of ~/.segrules/profiles.yml (default: the spec's target "
                             "in segrules.yml).")
select_option = click.option("--select", "-s", "select", multiple=True, metavar="SELECTOR", help=SELECT_HELP)
db_option = click.option("--db", metavar="URL", help="DuckDB file or Ibis URL (postgres://, ...); default: each "
                         "spec's target in segrules.yml.")


def spec_options(what: str = "specs"):
    """``[SPECS]...`` (files, folders or globs; none: the project's specs), ``--select``,
    ``--project``, ``--target``. The command gets ``specs``, ``select``, ``project``, ``target``."""
    def decorate(fn):
        fn = select_option(project_option(target_option(fn)))
        return click.argument("specs", nargs=-1, type=click.Path(), metavar=f"[{what.upper()}]...")(fn)
    return decorate


def selection(specs, select, project, *, registry=None, skip_non_specs: bool = False) -> "Selection":
    """The specs (and segments) of spec arguments, ``--select`` and ``--project``
    (:func:`segrules.project.resolve.resolve`)."""
    from .resolve import resolve
    return resolve(specs, select, project=project, registry=registry, skip_non_specs=skip_non_specs)


@dataclass(frozen=True)
class Database:
    """Where a spec's data is: the URL (``--db``, else its target's ``db:``) or a typed target
    (a ``type:`` target or profile, :mod:`segrules.run.targets`), None for none; either goes to
    :func:`segrules.connect`. ``as_of``: ``--as-of``, else the target's ``as_of:``; ``target``: its name."""

    url: Any
    as_of: datetime | date | str | None
    target: str | None

    def required(self, item: "Chosen") -> Any:
        if self.url is None:
            where = f"target {self.target!r} has no database (db:)" if self.target else "no --db given"
            raise SpecError(f"{item.path}: {where}", code="SR170",
                            hint="give --db URL, a --target with db:, or a target in segrules.yml")
        return self.url


def database(sel: "Selection", item: "Chosen", db: str | None, target: str | None, as_of=None) -> Database:
    """The database of ``item``: ``--db`` wins, then ``--target``, then the spec's target in the
    project. The target's ``as_of:`` is the default of ``--as-of``."""
    if db is not None and target is None:
        return Database(db, as_of, None)
    resolved = sel.target(item, target)  # None without a project (and without --target)
    url = db if db is not None else (resolved.db if resolved else None)
    return Database(url, as_of if as_of is not None else (resolved.as_of if resolved else None),
                    resolved.name if resolved else None)


def note(message: str) -> None:
    """A line for people on stderr (a spec skipped, and why)."""
    click.echo(message, err=True)


RENAMED_IN = "0.2"  # the release that drops the old spellings of renamed options and arguments


def warn_renamed(old: str, new: str) -> None:
    """The one warning a renamed option, value or argument prints (stderr; the command goes on)."""
    click.echo(f"warning: {old} is deprecated and goes away in segrules {RENAMED_IN}; use {new}", err=True)


def command_defaults(project, commands: dict[str, click.Command]) -> dict[str, dict]:
    """The project's ``defaults:`` as click's ``default_map``: option names as written in the
    file (``min_size``, ``min-size``, ``format``) mapped to the command's parameters. SR171 at
    the key for an unknown command or option."""
    from ..diagnostics import Diagnostic
    out, diags = {}, []
    for command, options in project.defaults().items():
        cmd = commands.get(command)
        if cmd is None:
            diags.append(Diagnostic("SR171", f"defaults: no command {command!r}", project.index.key_span(
                ("defaults", command)), hint=f"commands: {', '.join(sorted(commands))}"))
            continue
        names, spelled = {}, []
        for param in cmd.params:
            if isinstance(param, click.Option):
                names[param.name] = param.name
                for opt in param.opts + param.secondary_opts:
                    names[opt.lstrip("-").replace("-", "_")] = param.name
                spelled.append(max(param.opts, key=len).lstrip("-"))
        mapped = {}
        for key, value in options.items():
            name = names.get(key.replace("-", "_"))
            if name is None:
                diags.append(Diagnostic("SR171", f"defaults: {command} has no option {key!r}",
                                        project.index.key_span(("defaults", command, key)),
                                        hint=f"options: {', '.join(sorted(spelled))}"))
            else:
                mapped[name] = value
        out[command] = mapped
    if diags:
        raise SpecError(diagnostics=diags)
    return out


@dataclass(frozen=True)
class OneSpec:
    """What a one-spec command works on: the spec, its selected segments (None: all), its
    database and ``as_of`` (see :func:`database`) and the state store (``--state``, else the
    project's ``state:``)."""

    spec: object
    segments: list[str] | None
    db: Any  # str | segrules.run.targets.Target | None
    as_of: object
    state_url: str | None


def one_spec(command: str, specs, select, project, target=None, db=None, as_of=None, state_url=None, *,
             registry=None, needs_db: bool = False) -> OneSpec:
    """The one spec of a command that works on one (SR167 for several); SR170 when
    ``needs_db`` and neither ``--db`` nor a target gives a database."""
    sel = selection(specs, select, project, registry=registry)
    item = sel.one(command)
    if item.error is not None:
        raise item.error
    where = database(sel, item, db, target, as_of) if (needs_db or target) else Database(db, as_of, None)
    url = where.required(item) if needs_db else where.url
    state = state_url or (sel.project.state_url() if sel.project is not None else None)
    return OneSpec(item.spec, item.segments, url, where.as_of, state)


@dataclass(frozen=True)
class CommandSpec:
    """One spec a command reports on (:func:`command_specs`): its path as the user wrote it, the
    loaded spec, its selected segments (None: all), its database (a URL or a typed target: pass
    it to ``segrules.connect``, print it with ``segrules.plugin.redact``), ``as_of`` (``--as-of``,
    else its target's ``as_of:``) and its target's name (None: ``--db`` or no project)."""

    path: str
    spec: Any  # segrules.Spec
    segments: list[str] | None
    db: Any  # str | segrules.run.targets.Target
    as_of: datetime | date | str | None
    target: str | None


def command_specs(command: str, specs: Iterable[str] = (), select: Iterable[str] = (), project: str | None = None,
                  target: str | None = None, db: str | None = None, as_of: datetime | date | str | None = None, *,
                  needs: Callable[[Any], str | None] | None = None, registry: Any = None) -> list[CommandSpec]:
    """The specs ``command`` works on, each with its database: spec arguments (files, folders,
    globs; none: the project's specs), ``--select``, ``--project``, ``--target``, ``--db`` and
    ``--as-of`` as every command takes them (:func:`spec_options`).

    ``needs(spec)`` says why ``command`` cannot work on a spec (``"no rfm: section"``), or None.
    When the selection is the project or several specs, a spec it rejects, or whose target has no
    database, is skipped with a note on stderr (``a.yaml: skipped, no rfm: section``); SR164 when
    every one is. One spec named alone is taken as it is: the command's own error says what is
    wrong with it (SR170 without a database). A spec that fails to load raises (exit 2)."""
    specs = tuple(specs)
    sel = selection(specs, select, project, registry=registry)
    several = len(sel) > 1 or not specs
    found, skipped = [], []
    for item in sel:
        if item.error is not None:
            raise item.error
        reason = needs(item.spec) if several and needs is not None else None
        where = database(sel, item, db, target, as_of) if reason is None else None
        if where is not None and where.url is None and several:
            reason = f"target {where.target!r} has no database" if where.target else "no --db given"
        if reason is not None or where is None:
            skipped.append(item.path)
            note(f"{item.path}: skipped, {reason}")
            continue
        found.append(CommandSpec(item.path, item.spec, item.segments, where.required(item), where.as_of,
                                 where.target))
    if not found:
        raise SpecError(f"{command}: no spec to work on: the {len(skipped)} selected were skipped (see above)",
                        code="SR164", hint="give a spec file, or --select segments of specs the command can "
                        "work on")
    return found


# the names segrules exports them under (segrules.select_specs, segrules.spec_database)
select_specs = selection
spec_database = database
