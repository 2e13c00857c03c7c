"""YAML text -> validated :class:`SpecDocument` (model + position index)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..diagnostics import Diagnostic
from ..errors import SpecError
from .models import SpecModel, spec_model
from .yamlpos import PositionIndex, load_yaml


@dataclass(frozen=True)
class SpecDocument:
    """A validated spec with where it came from: file name, text, and YAML positions."""

    model: SpecModel
    path: str
    text: str
    index: PositionIndex


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names (aliases) allowed at the mapping that holds ``loc[-1]``."""
    current: Any = model
    for part in loc[:-1]:
        current = _without_none(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
            if field is None:
                return []
            current = field.annotation
        else:
            args = [a for a in getattr(current, "__args__", ()) if a is not type(None)]
            current = args[-1] if args else None
    current = _without_none(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _without_none(annotation: Any) -> Any:
    """``X | None`` -> ``X`` (an optional plugin section such as ``dict[str, Taxonomy] | None``)."""
    args = getattr(annotation, "__args__", ())
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return rest[0] if len(rest) == 1 else annotation
    return annotation


def _diagnostic(err: dict, model: type[BaseModel], index: PositionIndex, root: str = "spec") -> Diagnostic:
    loc = tuple(err["loc"])
    where = ".".join(str(p) for p in loc) or root
    if re.fullmatch(r"SR\d{3}", err["type"]):  # a validator's PydanticCustomError carries its code
        return Diagnostic(err["type"], f"{where}: {err['msg']}", index.value_span(loc),
                          hint=(err.get("ctx") or {}).get("hint"))
    if err["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, loc)
        close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {close[0]!r}?" if close else (
            f"allowed keys: {', '.join(allowed)}" if allowed else None)
        return Diagnostic("SR105", f"unknown key {loc[-1]!r} in {'.'.join(map(str, loc[:-1])) or root}",
                          index.key_span(loc), hint=hint)
    if err["type"] == "missing":
        return Diagnostic("SR106", f"missing required key {loc[-1]!r} in {'.'.join(map(str, loc[:-1])) or root}",
                          index.value_span(loc[:-1]))
    if err["type"] == "string_pattern_mismatch":
        span = index.key_span(loc) if loc in index.keys and loc not in index.values else index.value_span(loc)
        return Diagnostic("SR107", f"{where}: not a valid name (letters, digits and _, not starting with a digit)",
                          span)
    return Diagnostic("SR100", f"{where}: {err['msg']}", index.value_span(loc))


def validation_diagnostics(exc: ValidationError, model: type[BaseModel], index: PositionIndex,
                           root: str = "spec") -> list[Diagnostic]:
    """A pydantic error as diagnostics positioned through ``index`` (spec, test and project files);
    ``root`` names the top level in messages."""
    return [_diagnostic(e, model, index, root) for e in exc.errors()]


def read_model_file(path: str | Path, model_cls: type[BaseModel], *, what: str, codes: tuple[str, str],
                    shape: str, root: str | None = None) -> tuple[BaseModel, str, PositionIndex]:
    """A YAML file validated by ``model_cls`` (test files, project and profiles files): the model,
    the text and the positions. ``codes``: (unreadable file, not a mapping); ``shape`` says what
    the mapping must hold; ``root`` names the top level in messages. Raises :class:`SpecError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {what} {path}: {exc}", code=codes[0]) from None
    data, index = load_yaml(text, str(path))
    if not isinstance(data, dict):
        raise SpecError(shape, span=index.value_span(()), code=codes[1])
    try:
        return model_cls.model_validate(data), text, index
    except ValidationError as exc:
        raise SpecError(diagnostics=validation_diagnostics(exc, model_cls, index, root or "spec")) from None


def _expressions_as_text(data: dict, index: PositionIndex) -> None:
    """Expressions are text: ``where: true`` or ``ltv: 5`` keep the scalar as written."""
    paths = []
    if isinstance(data.get("features"), dict):
        paths += [("features", k) for k in data["features"]]
    if isinstance(data.get("segments"), dict):
        paths += [("segments", k, "where") for k, v in data["segments"].items() if isinstance(v, dict)]
    for path in paths:
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        value = parent.get(path[-1])
        raw = index.raw(path)
        if value is not None and not isinstance(value, (str, dict, list)) and raw is not None:
            parent[path[-1]] = raw


def parse_spec(text: str, path: str = "<string>", sections: dict[str, Any] | None = None) -> SpecDocument:
    """Parse and validate spec text. Raises :class:`SpecError` carrying every problem found."""
    data, index = load_yaml(text, path)
    model_cls = spec_model(sections)
    if not isinstance(data, dict):
        raise SpecError("a spec must be a mapping with version, name, entity and segments",
                        span=index.value_span(()), code="SR104")
    _expressions_as_text(data, index)
    try:
        model = model_cls.model_validate(data)
    except ValidationError as exc:
        raise SpecError(diagnostics=validation_diagnostics(exc, model_cls, index)) from None
    return SpecDocument(model, path, text, index)


def read_spec(path: str | Path, sections: dict[str, Any] | None = None) -> SpecDocument:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read spec {path}: {exc}", code="SR108") from None
    return parse_spec(text, str(path), sections)
