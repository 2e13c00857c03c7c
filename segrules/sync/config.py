"""Resolve a spec's ``syncs:`` against its segments, columns, features and the registered
destination types; read ``${ENV}`` secrets.  Every problem is collected with its position in the
spec and raised once; a secret's value never appears in a message."""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from pydantic import ValidationError

from ..diagnostics import Diagnostic
from ..errors import SegrulesError, SpecError, raise_if_errors
from ..plugin.destinations import DestinationDef
from ..spec.syncs import Sync

ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class PlannedSync:
    """One sync, ready to run: its destination type, validated options and where each output
    column comes from (a column of the entity table or a feature)."""

    name: str
    sync: Sync
    destination: str
    definition: DestinationDef
    options: Any
    secrets: tuple[str, ...] = field(repr=False)  # resolved values, to scrub from any text shown or stored
    sources: dict[str, str] = field(default_factory=dict)  # "identifier" and each field -> column or feature

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(self.sync.fields)


def _hint(name: str, known) -> str | None:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"did you mean {close[0]!r}?" if close else (f"known: {', '.join(sorted(known))}" if known else None)


def _substitute(value: Any, path: tuple, env: Mapping[str, str], index, found: list, diags: list) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, path + (k,), env, index, found, diags) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, path + (i,), env, index, found, diags) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match):
        var = match.group(1)
        if var not in env:
            diags.append(Diagnostic("SR814", f"environment variable {var} is not set "
                                    f"({'.'.join(map(str, path))})", index.value_span(path),
                                    hint=f"export {var}=... before running segrules sync"))
            return ""
        found.append(env[var])
        return env[var]
    return ENV_REF.sub(replace, value)


def _options(name: str, dest, definition: DestinationDef, env, index, diags) -> tuple[Any, tuple[str, ...]]:
    raw = dest.options
    base = ("destinations", name)
    for secret in definition.secrets:
        value = raw.get(secret)
        if value is not None and not (isinstance(value, str) and ENV_REF.fullmatch(value.strip())):
            diags.append(Diagnostic("SR815", f"destinations.{name}.{secret} is a secret: it must come from "
                                    "the environment, not the spec", index.value_span(base + (secret,)),
                                    hint=f"write {secret}: ${{SOME_ENV_VAR}}"))
    found: list[str] = []
    before = len(diags)
    resolved = _substitute(raw, base, env, index, found, diags)
    if len(diags) > before:
        return None, tuple(found)
    try:
        return definition.options.model_validate(resolved), tuple(v for v in found if v)
    except ValidationError as exc:
        for err in exc.errors():
            loc = base + tuple(err["loc"])
            where = ".".join(map(str, loc))
            if err["type"] == "extra_forbidden":
                allowed = list(definition.options.model_fields)
                diags.append(Diagnostic("SR816", f"unknown option {err['loc'][-1]!r} for a {definition.name} "
                                        f"destination ({where})", index.key_span(loc),
                                        hint=_hint(str(err["loc"][-1]), allowed)))
            elif err["type"] == "missing":
                diags.append(Diagnostic("SR816", f"{where}: required by {definition.name} destinations",
                                        index.key_span(base)))
            else:  # the message only: pydantic's input echo could be a secret
                diags.append(Diagnostic("SR816", f"{where}: {err['msg']}", index.value_span(loc)))
        return None, tuple(found)


class AnyEnv(dict):
    """An environment where every variable is set (to a placeholder): for checking a spec's syncs
    in CI, where the secrets are not available."""

    def __contains__(self, name) -> bool:
        return True

    def __missing__(self, name) -> str:
        return f"<{name} from the environment>"


def sync_diagnostics(spec, columns: list[str] | None) -> list[Diagnostic]:
    """The problems of a :class:`~segrules.api.Spec`'s ``destinations:``/``syncs:`` without running
    anything and without the secrets (``segrules validate``).  None ``columns``: column names are
    not checked."""
    document = spec.document
    if not document.model.syncs and not document.model.destinations:
        return []
    try:
        segments = spec.segments  # with the segments plugins derive
    except SegrulesError:  # reported by the core checks
        segments = list(document.model.segments)
    try:
        plan_syncs(document, columns, spec.registry.destinations, env=AnyEnv(), segments=segments)
    except SpecError as exc:
        return list(exc.diagnostics)
    return []


def plan_syncs(document, columns: list[str] | None, destinations: Mapping[str, DestinationDef],
               names: list[str] | None = None, env: Mapping[str, str] | None = None,
               segments: list[str] | None = None) -> list[PlannedSync]:
    """The syncs ``names`` (all when None) of ``document``, checked and with secrets read from
    ``env``.  ``columns``: the entity table's columns (None: not checked); ``segments``: the
    segments a sync may name (default the spec's own; ``Spec.segments`` adds plugin-derived ones).
    Raises :class:`SpecError`."""
    env = os.environ if env is None else env
    model, index = document.model, document.index
    diags: list[Diagnostic] = []
    if not model.syncs:
        raise SpecError(f"{document.path} has no syncs: section", code="SR817",
                        hint="add destinations: and syncs: (docs/sync.md)")
    unknown = [n for n in names or [] if n not in model.syncs]
    for n in unknown:
        diags.append(Diagnostic("SR818", f"--sync {n}: the spec has no such sync", hint=_hint(n, model.syncs)))
    raise_if_errors(diags, SpecError)
    wanted = names or list(model.syncs)
    opened: dict[str, tuple[Any, tuple[str, ...]]] = {}
    planned = []
    for name in wanted:
        sync = model.syncs[name]
        at = ("syncs", name)
        dest = model.destinations.get(sync.destination)
        definition = None
        if dest is None:
            diags.append(Diagnostic("SR811", f"sync {name}: no destination named {sync.destination!r}",
                                    index.value_span(at + ("destination",)),
                                    hint=_hint(sync.destination, model.destinations)))
        else:
            definition = destinations.get(dest.type)
            if definition is None:
                diags.append(Diagnostic("SR810", f"unknown destination type {dest.type!r}",
                                        index.value_span(("destinations", sync.destination, "type")),
                                        hint=_hint(dest.type, destinations)))
        known_segments = list(model.segments) if segments is None else segments
        if sync.segment not in known_segments:
            diags.append(Diagnostic("SR812", f"sync {name}: unknown segment {sync.segment!r}",
                                    index.value_span(at + ("segment",)), hint=_hint(sync.segment, known_segments)))
        known = set(columns or ()) | set(model.features)
        sources = {"identifier": sync.identify_by, **sync.fields}
        for out, source in sources.items():
            if columns is not None and source not in known:
                path = at + (("identify_by",) if out == "identifier" else ("fields", out))
                diags.append(Diagnostic("SR813", f"sync {name}: {source!r} is neither a column of "
                                        f"{model.entity.table} nor a feature", index.value_span(path),
                                        hint=_hint(source, known)))
        if definition is None:
            continue
        if sync.mode not in definition.modes:
            diags.append(Diagnostic("SR819", f"sync {name}: {dest.type} destinations do not support mode "
                                    f"{sync.mode} (supported: {', '.join(definition.modes)})",
                                    index.value_span(at + ("mode",))))
        if sync.identifier_kind not in definition.identifiers:
            diags.append(Diagnostic("SR819", f"sync {name}: {dest.type} destinations identify people by "
                                    f"{' or '.join(definition.identifiers)}, not {sync.identifier_kind}",
                                    index.value_span(at + ("identify_by",)),
                                    hint="set identifier: to what the identify_by column holds"))
        if definition.fields is not None:
            for out in sync.fields:
                if out not in definition.fields:
                    allowed = ", ".join(definition.fields) or "none"
                    diags.append(Diagnostic("SR819", f"sync {name}: {dest.type} destinations take no field "
                                            f"{out!r} (fields they take: {allowed})",
                                            index.key_span(at + ("fields", out)),
                                            hint="ad platforms get hashed identifiers only, never raw personal "
                                            "data" if definition.hashing else None))
        if sync.destination not in opened:
            opened[sync.destination] = _options(sync.destination, dest, definition, env, index, diags)
        options, secrets = opened[sync.destination]
        planned.append(PlannedSync(name, sync, sync.destination, definition, options, secrets, sources))
    raise_if_errors(diags, SpecError)
    return planned
