"""Which files are specs: a file, a folder (every ``*.yaml``/``*.yml`` under it) or a glob.

A spec test file (``*.test.yaml``, run by ``segrules test``) is never taken where a spec is
expected, whether a folder, a glob or a shell glob (``segment_specs/*.yaml``) names it."""

from __future__ import annotations

import glob as globlib
from pathlib import Path

SPEC_SUFFIXES = (".yaml", ".yml")
TEST_SUFFIXES = (".test.yaml", ".test.yml")


def is_test_file(path: str | Path) -> bool:
    return str(path).endswith(TEST_SUFFIXES)


def is_spec_name(path: str | Path) -> bool:
    """A YAML file that is not a spec test file (by name; the content decides the rest)."""
    return str(path).endswith(SPEC_SUFFIXES) and not is_test_file(path)


def has_glob(text: str) -> bool:
    return any(c in text for c in "*?[")


def expand(pattern: str, base: Path) -> list[Path]:
    """The spec files ``pattern`` names, relative to ``base``: the file itself, every spec file
    under a folder (hidden folders skipped), or the spec files a glob matches (``**`` crosses
    folders), sorted. A file named outright is returned whatever its suffix."""
    path = Path(pattern) if Path(pattern).is_absolute() else base / pattern
    if has_glob(pattern):
        found = []
        for hit in sorted(globlib.glob(str(path), recursive=True)):
            found.extend(expand(hit, base) if Path(hit).is_dir() else [Path(hit)] if is_spec_name(hit) else [])
        return _unique(found)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and is_spec_name(p)
                      and not any(part.startswith(".") for part in p.relative_to(path).parts))
    return [path]


def matches(pattern: str, path: Path, base: Path) -> bool:
    """``path`` is named by ``pattern`` (a file, a folder above it, or a glob) relative to ``base``."""
    target = (Path(pattern) if Path(pattern).is_absolute() else base / pattern)
    resolved = path.resolve()
    if has_glob(pattern):
        return resolved in {p.resolve() for p in expand(pattern, base)} or any(
            _under(resolved, Path(hit)) for hit in globlib.glob(str(target), recursive=True) if Path(hit).is_dir())
    return resolved == target.resolve() or _under(resolved, target)


def _under(path: Path, folder: Path) -> bool:
    folder = folder.resolve()
    return folder.is_dir() and folder in path.parents


def _unique(paths: list[Path]) -> list[Path]:
    return list(dict.fromkeys(paths))
