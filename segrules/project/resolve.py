"""Command-line spec arguments -> the specs (and segments) a command works on.

Each argument is a spec file, a folder or a glob; no argument means the project's specs
(``segrules.yml``). Folders and globs skip test files (``*.test.yaml``) and the files the
project's ``exclude:`` names; a file named outright is always taken (``skip_non_specs``: unless
it is not a spec of the project, for tools such as pre-commit that pass every YAML file)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import SegrulesError, SpecError
from . import PROJECT_FILE, Project, ResolvedTarget, load_project, profile_target, profiles_file
from .files import expand, has_glob, is_test_file
from .select import parse_selectors, select_segments


@dataclass
class Chosen:
    """One spec of a selection. ``segments``: the selected ones in spec order, None when the
    whole spec is selected (no ``--select``). ``spec`` is None when it failed to load (``error``)."""

    path: str
    spec: object | None = None
    error: SegrulesError | None = None
    segments: list[str] | None = None
    target: str | None = None


@dataclass
class Selection:
    project: Project | None
    chosen: list[Chosen] = field(default_factory=list)

    def __iter__(self):
        return iter(self.chosen)

    def __len__(self) -> int:
        return len(self.chosen)

    def target(self, item: Chosen, override: str | None = None) -> ResolvedTarget | None:
        """The target for ``item``: ``override`` (``--target``), else the project's for its file."""
        if self.project is None:
            if override is not None:
                found = profile_target(override)
                if found is None:
                    raise SpecError(f"--target {override}: no {PROJECT_FILE} found and no profile {override!r} "
                                    f"in {profiles_file()}", code="SR161",
                                    hint=f"targets are defined in {PROJECT_FILE} (targets:) or in the profiles file")
                return found
            return None
        return self.project.target(override, spec=item.path)

    def one(self, command: str) -> Chosen:
        """The single spec a one-spec command works on; SR167 when there are several."""
        require_one(command, [c.path for c in self.chosen])
        return self.chosen[0]


def require_one(command: str, chosen: list[str], what: str = "spec",
                hint: str = "give a spec file, or --select segments of one spec") -> None:
    """SR167 unless ``chosen`` (what ``command`` would work on, as shown to the user) is one
    ``what``: ``compile works on one spec; 2 are selected (a.yaml, b.yaml)``."""
    if len(chosen) != 1:
        listed = ", ".join(chosen[:5]) + (", …" if len(chosen) > 5 else "")
        raise SpecError(f"{command} works on one {what}; {len(chosen)} are selected ({listed})", code="SR167",
                        hint=hint)


def spec_files(paths: Iterable[str], project: Project | None, *, skip_non_specs: bool = False) -> list[Path]:
    """The spec files the arguments name (see the module docstring); the project's when none."""
    paths = list(paths)
    if not paths:
        if project is None:
            raise SpecError(f"no spec given and no {PROJECT_FILE} found in this folder or above", code="SR164",
                            hint=f"give spec files or folders, or create {PROJECT_FILE} (docs/project.md)")
        return [_shown(p) for p in project.specs()]
    found: list[Path] = []
    base = Path.cwd()
    for text in paths:
        path = Path(text)
        if path.is_dir() or has_glob(text):
            hits = [p for p in expand(text, base) if not (project and project.excluded(p))]
            if not hits:
                raise SpecError(f"{text}: no spec files there", code="SR164",
                                hint="spec files end in .yaml or .yml; *.test.yaml are their tests")
            found.extend(_shown(p) for p in hits)
        elif is_test_file(path):
            continue  # a spec's unit tests (segrules test), not a spec
        elif skip_non_specs and project is not None and not project.contains(path):
            continue
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def resolve(paths: Iterable[str] = (), select: Iterable[str] = (), *, project: str | Path | Project | None = None,
            registry=None, skip_non_specs: bool = False) -> Selection:
    """Load the specs the arguments name and apply ``select``. Specs that fail to load are kept
    (with their ``error``) so that nothing wrong is hidden by a selection."""
    from .. import api
    proj = project if isinstance(project, Project) else load_project(project)
    selectors = parse_selectors(list(select))
    registry = registry if registry is not None else api.default_registry()
    chosen = []
    for path in spec_files(paths, proj, skip_non_specs=skip_non_specs):
        item = Chosen(str(path), target=proj.target_name(path) if proj else None)
        try:
            item.spec = api.load(item.path, registry=registry)
        except SegrulesError as exc:
            item.error = exc
        chosen.append(item)
    if selectors:
        loaded = [c for c in chosen if c.spec is not None]
        picked = select_segments([c.spec for c in loaded], selectors, proj.root if proj else Path.cwd())
        for i, names in picked.items():
            loaded[i].segments = names
        kept = {id(loaded[i]) for i in picked}
        chosen = [c for c in chosen if c.spec is None or id(c) in kept]
    return Selection(proj, chosen)


def _shown(path: Path) -> Path:
    """Paths as the user would write them: relative to the current folder when under it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path
