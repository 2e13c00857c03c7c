"""Projects: a ``segrules.yml`` at the root of a repository of specs (the dbt habit).

>>> project = segrules.load_project()              # found by walking up from the current folder
>>> project.specs()                                 # the spec files, test files and exclusions left out
>>> project.target().db                             # the default target's database URL

Selection (``--select``) is in :mod:`segrules.project.select`; the file format in
:mod:`segrules.project.model` and docs/project.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from pathlib import Path

from ..diagnostics import Diagnostic, Span
from ..errors import SpecError
from .connections import check_file_connections, relative_to, resolve_connection
from .env import interpolate
from .files import expand, is_spec_name, matches
from .model import ProfilesModel, ProjectModel, Target

PROJECT_FILE = "segrules.yml"
PROFILES_ENV = "SEGRULES_PROFILES"          # the profiles file itself
PROFILES_DIR_ENV = "SEGRULES_PROFILES_DIR"  # the folder of profiles.yml (dbt's DBT_PROFILES_DIR)
DEFAULT_STATE = ".segrules/state.duckdb"


@dataclass(frozen=True)
class ResolvedTarget:
    """A target ready to use. ``db``: the database URL with ``${...}`` read and a relative DuckDB
    path made relative to the project file, or a typed target (:mod:`segrules.run.targets`) for a
    ``type:`` target; None: no database (schema: blocks only). Pass it to
    :func:`segrules.connect` either way; print it with :func:`segrules.run.targets.describe`."""

    name: str
    db: "str | Any | None"
    as_of: datetime | date | None = None
    origin: str | None = None  # where it is defined: the project file or the profiles file

    def connect(self, read_only: bool = True):
        from ..run import connect
        if self.db is None:
            raise SpecError(f"target {self.name!r} has no database (db:)", code="SR170",
                            hint="give --db URL, or another --target")
        return connect(self.db, read_only=read_only)


class Project:
    """A loaded ``segrules.yml``: its model, where it is, and the positions of its values."""

    def __init__(self, model: ProjectModel, path: Path, index):
        self.model, self.path, self.index = model, path, index
        self.root = path.parent

    def __repr__(self) -> str:
        return f"Project({str(self.path)!r})"

    # -- specs ---------------------------------------------------------------------------
    def specs(self) -> list[Path]:
        """The project's spec files, in the order of ``specs:`` (each entry's files sorted),
        test files and ``exclude:`` left out."""
        found: list[Path] = []
        for i, entry in enumerate(self.model.entries()):
            hits = [p for p in expand(entry.path, self.root) if p.is_file() and is_spec_name(p)]
            if not hits:
                raise SpecError(f"specs: {entry.path!r} names no spec files", code="SR164",
                                span=self.index.value_span(("specs", i)),
                                hint="a spec file, a folder of them or a glob, relative to " + PROJECT_FILE)
            found.extend(hits)
        return [p for p in dict.fromkeys(found) if not self.excluded(p)]

    def excluded(self, path: Path) -> str | None:
        """Why ``path`` is kept out of the project (``exclude:``), or None."""
        for item in self.model.exclusions():
            if matches(item.path, path, self.root):
                return item.reason or "excluded"
        return None

    def contains(self, path: Path) -> bool:
        return path.resolve() in {p.resolve() for p in self.specs()}

    # -- targets -------------------------------------------------------------------------
    def target_name(self, spec: str | Path | None = None) -> str | None:
        """The target of ``spec``: the last ``specs:`` entry naming it that sets one, else the
        project's ``target:``."""
        name = self.model.target
        if spec is not None:
            for entry in self.model.entries():
                if entry.target is not None and matches(entry.path, Path(spec), self.root):
                    name = entry.target
        return name

    def target(self, name: str | None = None, *, spec: str | Path | None = None) -> ResolvedTarget | None:
        """Target ``name`` (default: ``spec``'s, else the project's), resolved; None when the
        project names no target. A ``--target`` the project does not define may name a profile
        of the user's profiles file (the dbt habit: ``--target warehouse``)."""
        name = name if name is not None else self.target_name(spec)
        if name is None:
            return None
        if name not in self.model.targets:
            found = profile_target(name, base=self.root)
            if found is not None:
                return found
            raise SpecError(f"unknown target {name!r}", code="SR161",
                            hint=_known("targets", self.model.targets, str(self.path)) + _profiles_hint())
        target = self.model.targets[name]
        if target.profile is not None:
            profiles_path = profiles_file()
            profiles, index = load_profiles(profiles_path)
            if target.profile not in profiles.profiles:
                raise SpecError(f"target {name!r}: no profile {target.profile!r} in {profiles_path}", code="SR163",
                                span=self.index.value_span(("targets", name, "profile")),
                                hint=_known("profiles", profiles.profiles, str(profiles_path)))
            profile = profiles.profiles[target.profile]
            db = resolve_connection(profile, index, ("profiles", target.profile), self.local_path)
            return ResolvedTarget(name, db, profile.as_of or target.as_of, str(profiles_path))
        db = resolve_connection(target, self.index, ("targets", name), self.local_path)
        return ResolvedTarget(name, db, target.as_of, str(self.path))

    def local_path(self, value: str) -> str:
        """A DuckDB file path relative to the project file made absolute; URLs (``x://``),
        ``URL#schema`` forms and ``:memory:`` kept."""
        if "://" in value or value.startswith(":") or Path(value).is_absolute():
            return value
        head, sep, schema = value.partition("#")
        return str(self.root / head) + sep + schema

    # -- state and defaults --------------------------------------------------------------
    def state_url(self) -> str:
        """The state store: ``state:`` (``${...}`` read), else .segrules/state.duckdb beside segrules.yml."""
        value = self.model.state
        if value is None:
            return str(self.root / DEFAULT_STATE)
        return self.local_path(interpolate(value, self.index.value_span(("state",))))

    def defaults(self) -> dict[str, dict]:
        return {command: dict(options) for command, options in self.model.defaults.items()}

    def span(self, *path) -> Span | None:
        return self.index.value_span(tuple(path))


def _known(what: str, names, file: str) -> str:
    return f"{what} of {file}: {', '.join(names)}" if names else f"{file} defines no {what}"


def find_project(start: str | Path | None = None) -> Path | None:
    """The ``segrules.yml`` in ``start`` (default: the current folder) or the nearest folder above."""
    here = Path(start if start is not None else os.getcwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def load_project(path: str | Path | None = None, *, start: str | Path | None = None) -> Project | None:
    """The project of ``path`` (a ``segrules.yml`` or a folder holding one), else the one found by
    walking up from ``start``; None when there is none. Raises :class:`SpecError` (file:line:col)
    for a bad project file, and SR160 when ``path`` holds no project file."""
    if path is not None:
        file = Path(path)
        file = file / PROJECT_FILE if file.is_dir() else file
        if not file.is_file():
            raise SpecError(f"--project {path}: no {PROJECT_FILE} there", code="SR160")
    else:
        file = find_project(start)
        if file is None:
            return None
    model, index = _read(file, ProjectModel, "a project file must be a mapping with version: 1 and specs:")
    _check_targets(model, index, file)
    check_file_connections(model.targets, index, "targets")
    return Project(model, file, index)


def _read(file: Path, model_cls, shape: str):
    from ..spec.loader import read_model_file
    model, _, index = read_model_file(file, model_cls, what="file", codes=("SR160", "SR160"), shape=shape,
                                      root=file.name)
    return model, index


def _check_targets(model: ProjectModel, index, file: Path) -> None:
    """Every target named in the file exists (SR161, at the name)."""
    named = [(("target",), model.target)] + [(("specs", i, "target"), e.target)
                                             for i, e in enumerate(model.specs) if not isinstance(e, str)]
    diags = [Diagnostic("SR161", f"unknown target {name!r}", index.value_span(where),
                        hint=_known("targets", model.targets, str(file)))
             for where, name in named if name is not None and name not in model.targets]
    if diags:
        raise SpecError(diagnostics=diags)


def profiles_file() -> Path:
    """The user's profiles: the file ``$SEGRULES_PROFILES`` names, else profiles.yml in
    ``$SEGRULES_PROFILES_DIR``, else ~/.segrules/profiles.yml."""
    if os.environ.get(PROFILES_ENV):
        return Path(os.environ[PROFILES_ENV])
    if os.environ.get(PROFILES_DIR_ENV):
        return Path(os.environ[PROFILES_DIR_ENV]) / "profiles.yml"
    return Path.home() / ".segrules" / "profiles.yml"


def load_profiles(path: Path) -> tuple[ProfilesModel, object]:
    """The profiles file at ``path``, its fields checked (SR172/SR173 with positions)."""
    if not path.is_file():
        raise SpecError(f"no profiles file {path} (a target refers to a profile)", code="SR163",
                        hint=f"create it with profiles: {{NAME: {{type: postgres, host: ..., dbname: ...}}}}, "
                        f"or set {PROFILES_DIR_ENV} (its folder) or {PROFILES_ENV} (the file)")
    model, index = _read(path, ProfilesModel, "a profiles file must be a mapping with profiles:")
    check_file_connections(model.profiles, index, "profiles")
    return model, index


def profile_target(name: str, *, base: Path | None = None) -> ResolvedTarget | None:
    """Profile ``name`` of the user's profiles file as a target (``--target NAME`` when no
    project target has that name); None when there is no profiles file or no such profile.
    A relative DuckDB path is taken from ``base`` (the project's folder, else the current one)."""
    path = profiles_file()
    if not path.is_file():
        return None
    profiles, index = load_profiles(path)
    profile = profiles.profiles.get(name)
    if profile is None:
        return None
    db = resolve_connection(profile, index, ("profiles", name), relative_to(base or Path.cwd()))
    return ResolvedTarget(name, db, profile.as_of, str(path))


def _profiles_hint() -> str:
    path = profiles_file()
    if not path.is_file():
        return ""
    try:
        names = list(load_profiles(path)[0].profiles)
    except SpecError:
        return ""
    return f"; {_known('profiles', names, str(path))}"


__all__ = ["Project", "ResolvedTarget", "load_project", "find_project", "profiles_file", "profile_target",
           "PROJECT_FILE",
           "Target", "ProjectModel"]
