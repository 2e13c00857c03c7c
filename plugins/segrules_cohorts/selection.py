"""What ``segrules cohort``, ``experiment`` and ``funnel`` report on: every entry (cohort,
experiment, funnel) of every selected spec that has the section, or those named with ``--cohort``
(``--experiment``, ``--funnel``). Specs come as for every command: files, folders, globs or the
project, ``--select``, ``--target`` (:func:`segrules.plugin.command_specs`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import segrules
from segrules.plugin import CommandSpec, SpecError, command_specs, note


@dataclass(frozen=True)
class Report:
    """One report to make: an entry ``name`` of the section of ``work.spec``."""

    work: CommandSpec
    name: str

    @property
    def shown(self) -> str:
        return f"{self.work.path} {self.name}"


def reports(command: str, section: str, what: str, names_of: Callable[[object], list[str]], specs, select, project,
            target, db, as_of, names: tuple[str, ...], *, unknown: str) -> list[Report]:
    """The (spec, entry) pairs to report on, in spec then section order; ``names``: only these
    entries. A spec without the section (or, with ``names``, without any of them) is skipped with
    a note when several specs are selected; named alone, it is an error (SR313). A name no
    selected spec has is an error (``unknown``, the plugin's code)."""
    def needs(spec) -> str | None:
        config = spec.section(section)
        return None if config is not None and names_of(config) else f"no {section}: section"

    found: list[Report] = []
    works = command_specs(command, specs, select, project, target, db, as_of, needs=needs)
    for work in works:
        config = work.spec.section(section)
        has = names_of(config) if config is not None else []
        if not has:  # a spec named alone (a spec of several without the section is skipped)
            raise SpecError(f"{work.path}: the spec has no {section}: section", code="SR313",
                            hint=f"segrules {command} reports on a spec's {section}: section")
        listed = [name for name in (names if names else has) if name in has]
        if not listed and len(works) > 1:
            note(f"{work.path}: skipped, no {what} {' or '.join(map(repr, names))} in its {section}: section")
        found += [Report(work, name) for name in listed]
    missing = [n for n in names if not any(r.name == n for r in found)]
    if missing:
        have = sorted({n for w in works for n in names_of(w.spec.section(section))})
        raise SpecError(f"no selected spec has the {what} {missing[0]!r} in its {section}: section", code=unknown,
                        hint=f"{section}: {', '.join(have)}" if have else None)
    return found


def compute_all(chosen: list[Report], compute: Callable[..., Any], *, fmt: str, show: Callable[[Any, Any], None],
                console, params: dict, **options) -> list:
    """``compute(spec, con, name, as_of=, params=, **options)`` of each report in turn, each on
    its spec's database and ``as_of``; with ``fmt`` text, each is shown as soon as it is computed."""
    done = []
    for r in chosen:
        report = compute(r.work.spec, segrules.connect(r.work.db, read_only=True), r.name, as_of=r.work.as_of,
                         params=params, **options)
        done.append(report)
        if fmt == "text":
            show(report, console)
    return done


def as_json(documents: list[dict]) -> str:
    """The reports' JSON: the document of one report, or the list of several (as ``run`` and
    ``mece`` print)."""
    return json.dumps(documents[0] if len(documents) == 1 else documents, indent=2)
