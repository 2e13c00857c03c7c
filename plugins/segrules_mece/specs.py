"""The specs ``mece`` and ``audit`` work on: files, folders, globs or the project (segrules.yml),
``--select``, each with its database (``--db``, else its target's) and ``as_of``."""

from __future__ import annotations

from dataclasses import dataclass

import click

from segrules.plugin import SpecError
from segrules import select_specs, spec_database


@dataclass
class Work:
    spec: object
    segments: list[str] | None  # selected segments, None for all
    db: str
    as_of: object


def specs_to_measure(specs, select, project, target, db, as_of, *, wanted=None, what: str = "") -> list[Work]:
    """One :class:`Work` per selected spec. A spec that fails to load raises; with several
    specs, those ``wanted`` rejects (no taxonomies) and those without a database are skipped
    (the latter with a note); one spec named alone is taken as it is."""
    chosen = select_specs(specs, select, project)
    several = len(chosen) > 1 or not specs
    out = []
    for item in chosen:
        if item.error is not None:
            raise item.error
        if several and wanted is not None and not wanted(item.spec):
            continue
        where = spec_database(chosen, item, db, target, as_of)
        if several and where.url is None:
            click.echo(f"{item.path}: skipped, target {where.target!r} has no database", err=True)
            continue
        out.append(Work(item.spec, item.segments, where.required(item), where.as_of))
    if not out:
        raise SpecError(f"no spec {what}to measure among the {len(chosen)} selected", code="SR164",
                        hint="give a spec file, or --select segments of specs that have a database")
    return out
