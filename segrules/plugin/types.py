"""The values plugins hand to segrules through the ``register_*`` hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .categories import TYPE_CATEGORIES as TYPE_CATEGORIES
from .functions import FunctionDef as FunctionDef  # defined with the type rules


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
    must either write all of it or raise :class:`~segrules.plugin.SinkError` leaving earlier output
    intact.  ``suffixes`` lets ``run --out FILE`` pick the sink by file name."""

    name: str
    write: Callable[[Any, str, dict[str, Any]], SinkResult]
    suffixes: tuple[str, ...] = ()
    doc: str = ""


@dataclass(frozen=True)
class ValueField:
    """One per-entity value of a namespace, used in rules as ``namespace.name`` (``rfm.r``).

    ``dtype`` is a type name (``int64``; :func:`~segrules.types.parse_type`).  ``minimum``/``maximum``
    (inclusive) and ``values`` (the only strings it can take) describe its domain for static
    analysis (e.g. MECE proofs); leave them None when unknown.  ``nullable``: whether some entities have no value."""

    name: str
    dtype: str
    doc: str = ""
    minimum: float | None = None
    maximum: float | None = None
    values: tuple[str, ...] | None = None
    nullable: bool = True


@dataclass(frozen=True)
class SourceExpression:
    """An expression written in a plugin's spec section and evaluated over the rows of a source
    (``rfm: {amount: amount * 0.9, where: status == 'paid'}``).  segrules parses and type-checks
    it with the spec (errors point into the section) and compiles it for the plugin.

    ``path``: where its text is in the spec, e.g. ``("rfm", "where")``; ``source_path``: where the
    source name is (for an unknown source).  ``expect``: a type category (``TYPE_CATEGORIES``).

    ``source=None`` makes it an *entity expression*: evaluated per entity like a feature, so it may
    use aggregates, features, parameters and ``segment()`` (``experiments: {population:
    segment('active'), metric: count(events within 7d)}``); see ``NamespaceBuild.entity_values``.

    ``future=True`` (entity expressions only): the expression may read the rows *after* now with
    ``within next D`` in its aggregates (a predictive model's label, evaluated at a training time
    T over ``T < t <= T + D``); everywhere else ``within next`` is SR435."""

    key: str
    source: str | None
    text: str
    path: tuple[str | int, ...]
    source_path: tuple[str | int, ...] | None = None
    expect: str = "any"
    future: bool = False


@dataclass(frozen=True)
class NamespaceDef:
    """Per-entity values a plugin computes in the database and rules use as ``name.field``.

    Active when the spec has the top-level section ``section`` (a spec section the plugin also
    registers).  ``fields(config)`` lists the values for that section's config (a pydantic model
    instance); ``expressions(config)`` the source expressions it uses; ``build(ctx)`` gets a
    :class:`NamespaceBuild` and returns an Ibis table with the entity key column (``ctx.key``)
    and one column per field, at most one row per entity (entities without a row get nulls).
    The table is joined into the spec's one query plan only when a rule uses the namespace."""

    name: str
    section: str
    fields: Callable[[Any], list[ValueField]]
    build: Callable[[Any], Any]
    expressions: Callable[[Any], list[SourceExpression]] | None = None
    doc: str = ""


@dataclass(frozen=True)
class EntityFunctionDef:
    """A rule function whose value per entity a plugin computes in the database from an entry of
    its spec section: ``cohort('signup_week')``, ``retained('signup_week', 4)``.

    The first argument is a string literal naming an entry of the top-level section ``section``
    (``entries(config)`` lists the names, given the section's pydantic config); the others are
    literals of the type categories ``args`` (see ``TYPE_CATEGORIES``; a parameter is not
    accepted: the value is fixed when the spec is checked).
    The checker rejects, at their positions, an unknown entry (SR320), a non-constant or
    wrongly typed argument (SR434), a use inside an aggregate (SR308) and a use without the
    section (SR313). ``check(config, entry, args)`` (optional) may return a message for arguments that
    are constants of the right type but out of range (``retained('w', 99)`` with 8 periods): an
    SR434 at the call. ``returns``: a type name (``string``), or ``returns(entry, args)`` giving one.

    ``build(ctx)`` gets a :class:`~segrules.plugin.NamespaceBuild` for the section
    (``ctx.entry``: the entry's name, ``ctx.args``: the other argument values) and returns an
    Ibis table with the entity key column (``ctx.key``) and a ``value`` column, at most one row
    per entity (entities without a row get null). Each distinct call is built once per plan and
    joined into the spec's one query plan only when a rule uses it. ``expressions(config, model)``
    (the section's config and the spec model, e.g. for the entity key): the section's source and
    entity expressions, checked with the spec whenever the section is
    there (several functions of one section may share them)."""

    name: str
    section: str
    entries: Callable[[Any], Iterable[str]]
    build: Callable[[Any], Any]
    returns: str | Callable[[str, tuple[Any, ...]], str]
    args: tuple[str, ...] = ()
    check: Callable[[Any, str, tuple[Any, ...]], str | None] | None = None
    expressions: Callable[[Any, Any], list[SourceExpression]] | None = None
    doc: str = ""


@dataclass(frozen=True)
class DerivedSegment:
    """An output membership column computed from other segments' membership booleans, in the
    spec's one query.  ``combine`` gets ``{input name: Ibis boolean column}`` (the segments'
    own rules, never null) and returns an Ibis boolean.  A ``name`` that is a segment of the
    spec replaces that segment's output column; a new name adds an output segment (listed after
    the spec's own).  Rules that use ``segment('x')`` still see x's own rule."""

    name: str
    inputs: tuple[str, ...]
    combine: Callable[[dict[str, Any]], Any]
    doc: str = ""


@dataclass(frozen=True)
class SegmentOutputDef:
    """Rewrites of the output segments, active when the spec has the top-level ``section``.
    ``derive(config, model)`` gets that section's config and the spec model and returns the
    :class:`DerivedSegment` list."""

    name: str
    section: str
    derive: Callable[[Any, Any], list[DerivedSegment]]
    doc: str = ""


@dataclass
class PluginInfo:
    name: str
    version: str | None
    module: str
    hooks: list[str] = field(default_factory=list)
