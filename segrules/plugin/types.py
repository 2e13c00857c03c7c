"""The values plugins hand to segrules through the ``register_*`` hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

# Argument type categories a function signature may use (or a concrete Ibis type string).
TYPE_CATEGORIES = ("any", "numeric", "integer", "string", "boolean", "date", "timestamp", "temporal")


@dataclass(frozen=True)
class FunctionDef:
    """A scalar function usable in expressions, e.g. ``domain(email)``.

    ``args``: one type category per argument (see ``TYPE_CATEGORIES``) or an Ibis type string;
    a final ``"..."`` repeats the argument before it.  ``returns``: an Ibis type string, or a
    callable mapping the argument types (Ibis ``DataType`` objects) to the result type.
    ``compile``: called with the compiled Ibis expressions of the arguments; returns an Ibis
    expression.  It must build values with Ibis (never SQL text).
    """

    name: str
    args: tuple[str, ...]
    returns: str | Callable[[list], Any]
    compile: Callable[..., Any]
    doc: str = ""


@dataclass(frozen=True)
class SpecSection:
    """An extra top-level key of the spec (``rfm:``, ``destinations:``) validated by ``model``."""

    name: str
    model: Any  # a pydantic BaseModel subclass
    doc: str = ""


@dataclass(frozen=True)
class ValidationContext:
    """What a validator gets: the parsed document, the checked spec (None when the spec has
    errors already), and the connection if ``validate --db`` was given."""

    document: Any
    checked: Any | None = None
    connection: Any | None = None


@dataclass(frozen=True)
class Validator:
    """A check run by ``segrules validate``; returns diagnostics (any severity)."""

    name: str
    check: Callable[[ValidationContext], Iterable[Any]]
    doc: str = ""


@dataclass(frozen=True)
class SinkResult:
    rows: int
    target: str
    detail: str = ""


@dataclass(frozen=True)
class SinkDef:
    """A destination for an audience.  ``write(table, target, options)`` gets a PyArrow table and
    must either write all of it or raise :class:`~segrules.errors.SinkError` leaving earlier output
    intact.  ``suffixes`` lets ``run --out FILE`` pick the sink by file name."""

    name: str
    write: Callable[[Any, str, dict], SinkResult]
    suffixes: tuple[str, ...] = ()
    doc: str = ""


@dataclass
class PluginInfo:
    name: str
    version: str | None
    module: str
    hooks: list[str] = field(default_factory=list)
