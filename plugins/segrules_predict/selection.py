"""Which (spec, model) pairs ``segrules train`` and ``segrules clusters`` work on: the specs as every
command selects them (spec arguments, ``--select``, ``--project``, ``--target``, ``--db``: the
public ``segrules.plugin.command_specs``), then ``--model`` names, or every model of the kind the
command takes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import segrules
from segrules.plugin import CommandSpec, command_specs

from .config import MODELS, Kind


@dataclass(frozen=True)
class Chosen:
    """One model to work on: its spec (with database and ``as_of``) and its name."""

    work: CommandSpec
    name: str


def chosen_models(command: str, specs, select, project, target, db, as_of, names: tuple[str, ...], *,
                  kind: Kind | None = None) -> list[Chosen]:
    """The models to work on, in spec then ``models:`` order: ``names``, else every model (of
    ``kind``). When several specs are selected, one without such a model is skipped with a note;
    a spec named alone is taken as it is (the command's SR320 says what it lacks). SR320 too for
    a name no selected spec has."""
    what = f"{kind.value} model" if kind is not None else "model"

    def models(spec: Any) -> list[str]:
        config = spec.section(MODELS) or {}
        return [n for n, m in config.items() if kind is None or m.kind is kind]

    def needs(spec: Any) -> str | None:
        has = models(spec)
        if names:
            return None if any(n in has for n in names) else f"no {what} {' or '.join(map(repr, names))}"
        return None if has else f"no {what} under models:"

    works = command_specs(command, specs, select, project, target, db, as_of, needs=needs)
    if len(works) == 1:  # named alone (or the one left): its own error says what is missing
        has = models(works[0].spec)
        listed = list(names) if names else has
        if not listed:
            raise segrules.SpecError(f"{works[0].path}: the spec has no {what} under models:", code="SR320",
                                     hint=f"segrules {command} works on a spec's models: section")
        return [Chosen(works[0], name) for name in listed]
    # several: command_specs skipped (with a note) each spec without any of the models asked for
    found = [Chosen(work, name) for work in works
             for name in ([n for n in names if n in models(work.spec)] if names else models(work.spec))]
    missing = [n for n in names if not any(c.name == n for c in found)]
    if missing:
        raise segrules.SpecError(f"no selected spec has the {what} {missing[0]!r} under models:", code="SR320")
    return found
