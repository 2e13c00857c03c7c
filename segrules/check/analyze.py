"""The check stage's entry point: parse every expression of a spec, resolve names against the
table schemas, type-check, detect cycles.  Collects every problem and raises once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, TypeAlias

from ..diagnostics import Diagnostic, Severity
from ..errors import ExprSyntaxError, TypeCheckError, raise_if_errors
from ..lang import ast as a
from ..plugin.types import EntityFunctionDef, FunctionDef, NamespaceDef, SourceExpression, ValueField
from ..spec import SpecDocument, SpecModel
from ..spec.expressions import parse_at, parse_expressions
from ..types import DataType, Schema, as_schema
from .entity_values import ENTITY_NAMESPACE, ranks_read_by_aggregates
from .cycles import Ref, find_cycles, too_long_chains, topological_order
from .schema import did_you_mean
from .types import describe, dtype, is_temporal
from .typecheck import Binding, Env, Scope, TypeChecker
from .types import matches_category


Path: TypeAlias = tuple[str | int, ...]  # a path into the spec document
# active plugin namespaces: name -> (definition, its section's config, field -> ValueField)
ActiveNamespaces: TypeAlias = dict[str, tuple[NamespaceDef, object, dict[str, ValueField]]]
# (namespace or section name, the source and entity expressions it declares)
ExpressionOwner: TypeAlias = tuple[str, list[SourceExpression]]


@dataclass
class CheckedSpec:
    """A spec whose expressions parsed, resolved and type-checked.  Side tables are keyed by
    ``id(node)`` of the nodes in ``features`` / ``segments``."""

    document: SpecDocument
    schemas: dict[str, Schema]
    features: dict[str, a.Node]
    segments: dict[str, a.Node]
    types: dict[int, DataType]
    bindings: dict[int, Binding]
    feature_types: dict[str, DataType]
    aggregates: dict[str, list[a.Aggregate]]  # per source, structurally unique, in first-use order
    order: list[Ref]  # features and segments, dependencies first
    deps: dict[Ref, list[tuple[Ref, a.Node]]]
    functions: dict[str, FunctionDef] = field(default_factory=dict)
    warnings: list[Diagnostic] = field(default_factory=list)
    # active plugin namespaces: name -> (definition, its section's config, field -> ValueField)
    namespaces: ActiveNamespaces = field(default_factory=dict)
    # plugin source and entity expressions, parsed and checked: (namespace or section, key) ->
    # (declaration, node)
    source_expressions: dict[tuple[str, str], tuple[SourceExpression, a.Node]] = field(default_factory=dict)
    # plugin entity functions whose section the spec has: name -> (definition, the section's config)
    entity_functions: dict[str, tuple[EntityFunctionDef, object]] = field(default_factory=dict)

    @property
    def model(self) -> SpecModel:
        return self.document.model

    def type_of(self, node: a.Node) -> DataType | None:
        """The checked type of ``node``, a node of this spec's expressions (None if it has none)."""
        return self.types.get(id(node))

    def binding(self, node: a.Node) -> Binding | None:
        """What the name ``node`` (a ``Name`` or ``Dotted``) refers to: an :class:`EntityColumn`,
        :class:`FeatureRef`, :class:`SourceColumn`, :class:`NamespaceValue`, :class:`EntityValue`
        or a plugin entity function's value; None for a node that is not a bound name."""
        return self.bindings.get(id(node))

    def closure(self, refs: list[Ref]) -> list[Ref]:
        """``refs`` with everything they depend on, dependencies first."""
        wanted: set[Ref] = set()
        todo = list(refs)
        while todo:
            ref = todo.pop()
            if ref not in wanted:
                wanted.add(ref)
                todo.extend(target for target, _ in self.deps.get(ref, ()))
        return [r for r in self.order if r in wanted]


def _structure(doc: SpecDocument, schemas: dict[str, Schema]) -> list[Diagnostic]:
    """Keys and time columns named in entity/sources exist and have fitting types."""
    m = doc.model
    diags: list[Diagnostic] = []

    def column(table: str, col: str | None, path: Path, temporal: bool = False) -> None:
        if col is None or table not in schemas:
            return
        schema = schemas[table]
        if col not in schema:
            diags.append(Diagnostic("SR301", f"column {col!r} not found in table {table!r}",
                                    doc.index.value_span(path), hint=did_you_mean(col, schema.names)))
        elif temporal and not is_temporal(schema[col]):
            diags.append(Diagnostic("SR411", f"time column {table}.{col} must be a date or timestamp, "
                                    f"it is {describe(schema[col])}", doc.index.value_span(path)))

    if ENTITY_NAMESPACE in m.sources:
        diags.append(Diagnostic("SR318", f"the source name {ENTITY_NAMESPACE!r} is reserved: entity.NAME reads the "
                                "entity's own values inside aggregates", doc.index.key_span(("sources", ENTITY_NAMESPACE)),
                                hint="rename the source"))
    column(m.entity.table, m.entity.key, ("entity", "key"))
    column(m.entity.table, m.entity.time, ("entity", "time"), temporal=True)
    for name, src in m.sources.items():
        column(src.table, src.key, ("sources", name, "key"))
        column(src.table, src.time, ("sources", name, "time"), temporal=True)
    entity_cols = set(schemas.get(m.entity.table, Schema()).names)
    for name in m.features:
        if name in entity_cols:
            diags.append(Diagnostic("SR310", f"feature {name!r} has the name of a column of {m.entity.table!r}",
                                    doc.index.key_span(("features", name)), hint="rename the feature"))
        if name in m.segments:
            diags.append(Diagnostic("SR310", f"{name!r} is both a feature and a segment",
                                    doc.index.key_span(("segments", name))))
    for name in list(m.segments) + list(m.features):
        if name == m.entity.key:
            kind = "segment" if name in m.segments else "feature"
            diags.append(Diagnostic("SR310", f"{kind} {name!r} has the name of the entity key",
                                    doc.index.key_span((kind + "s", name))))
    return diags


def _namespaces(doc: SpecDocument, namespaces: dict[str, NamespaceDef]
                ) -> tuple[ActiveNamespaces, dict[str, str], list[Diagnostic]]:
    """The plugin namespaces the spec switches on (by having their section), those it does not,
    and clashes with source names."""
    m = doc.model
    active: ActiveNamespaces = {}
    inactive: dict[str, str] = {}
    diags: list[Diagnostic] = []
    for name, nd in namespaces.items():
        config = getattr(m, nd.section, None)
        if config is not None and name == ENTITY_NAMESPACE:
            diags.append(Diagnostic("SR318", f"the {nd.section}: section provides {name}.* values, but the name "
                                    f"{name!r} is reserved for the entity's own values inside aggregates",
                                    doc.index.key_span((nd.section,)),
                                    hint=f"the plugin that registers the {name!r} namespace must rename it"))
        elif config is None:
            inactive[name] = nd.section
        elif name in m.sources:
            diags.append(Diagnostic("SR312", f"source {name!r} has the name of the {name}.* values of the "
                                    f"{nd.section}: section", doc.index.key_span(("sources", name)),
                                    hint="rename the source"))
        else:
            active[name] = (nd, config, {f.name: f for f in nd.fields(config)})
    return active, inactive, diags


def _expression_owners(model: SpecModel, active: ActiveNamespaces,
                       entity_functions: dict[str, tuple[EntityFunctionDef, object]]) -> list[ExpressionOwner]:
    """(owner, declared expressions) of the active namespaces, then of the sections of the
    entity functions (each section once): the owner is the namespace or section name."""
    owners = [(ns, nd.expressions(config) if nd.expressions else []) for ns, (nd, config, _) in active.items()]
    seen: set[tuple[str, object]] = set()
    for fn, config in entity_functions.values():
        if fn.expressions and (fn.section, fn.expressions) not in seen:
            seen.add((fn.section, fn.expressions))
            owners.append((fn.section, fn.expressions(config, model)))
    return owners


def _source_expressions(doc: SpecDocument, checker: TypeChecker, owners: Iterable[ExpressionOwner],
                        syntax: list[Diagnostic]) -> dict[tuple[str, str], tuple[SourceExpression, a.Node]]:
    """Parse and type-check the plugin sections' source expressions (over a source's rows) and
    entity expressions (``source=None``: per entity, like a feature)."""
    result: dict[tuple[str, str], tuple[SourceExpression, a.Node]] = {}
    reported: set[tuple[str, object]] = set()
    for owner, declared in owners:
        for se in declared:
            if (owner, se.key) in result:
                continue
            if se.source is not None and se.source not in checker.env.sources:
                if (se.source, se.source_path) in reported:
                    continue
                reported.add((se.source, se.source_path))
                checker.diagnostics.append(Diagnostic(
                    "SR302", f"unknown source {se.source!r}", doc.index.value_span(se.source_path or se.path),
                    hint=did_you_mean(se.source, checker.env.sources)))
                continue
            node = parse_at(doc, se.text, se.path, syntax)
            if node is None:
                continue
            saved, checker.refs, checker.section, checker.future = checker.refs, [], owner, se.future
            t = checker.value(node, Scope(se.source) if se.source is not None else Scope())
            checker.section_refs.setdefault(owner, []).extend(checker.refs)
            checker.refs, checker.section, checker.future = saved, None, False
            if t is not None and not matches_category(t, se.expect):
                checker.error("SR415", f"{'.'.join(map(str, se.path))} must be {se.expect}, got {describe(t)}", node)
            result[(owner, se.key)] = (se, node)
    return result


def _zoned_time_columns(doc: SpecDocument, schemas: dict[str, Schema]) -> list[Diagnostic]:
    """Warnings for time columns stored with a time zone: rules compare wall-clock times of the
    spec's ``timezone:``, and the database converts zoned values in its own session zone."""
    m = doc.model
    out: list[Diagnostic] = []
    places = [(m.entity.table, m.entity.time, ("entity", "time"))] + [
        (s.table, s.time, ("sources", name, "time")) for name, s in m.sources.items()]
    for table, column, path in places:
        dtype = schemas.get(table, Schema()).get(column) if column else None
        if dtype is not None and dtype.is_timestamp() and dtype.timezone:
            out.append(Diagnostic(
                "SR420", f"time column {table}.{column} has a time zone ({dtype.timezone}); rules compare "
                f"wall-clock times in the spec's zone ({m.timezone}), and the database converts zoned values "
                "in its session zone", doc.index.value_span(path), Severity.WARNING,
                hint=f"store it without a zone, or run with a session time zone of {m.timezone}"))
    return out


def _feature_order(features: dict[str, a.Node]) -> list[Ref]:
    """The features, those a feature may read (by name, or as ``entity.NAME``) before it, so
    that type-checking a chain of features never recurses through the chain.  The names are
    read from the text alone: a name that turns out to be a source column only orders more."""
    deps: dict[Ref, list[tuple[Ref, a.Node]]] = {("feature", name): [(("feature", n.name), n) for n in node.walk()
                                if isinstance(n, (a.Name, a.Dotted)) and n.name in features
                                and (isinstance(n, a.Name) or n.namespace == ENTITY_NAMESPACE)]
            for name, node in features.items()}
    return topological_order(deps)


def analyze(doc: SpecDocument, schemas: Mapping[str, Mapping[str, Any]],
            functions: dict[str, FunctionDef] | None = None,
            namespaces: dict[str, NamespaceDef] | None = None,
            entity_functions: dict[str, EntityFunctionDef] | None = None) -> CheckedSpec:
    """Parse, resolve and type-check a spec against ``schemas``. Raises the first stage's error
    type carrying all its diagnostics: :class:`ExprSyntaxError` or :class:`TypeCheckError`.
    ``schemas``: table -> :class:`~segrules.types.Schema` (an Ibis schema is read as one)."""
    tables: dict[str, Schema] = {table: as_schema(columns) for table, columns in schemas.items()}
    features, segments, syntax = parse_expressions(doc)
    active, inactive, clashes = _namespaces(doc, namespaces or {})
    structure = _structure(doc, tables) + clashes
    if structure:
        raise TypeCheckError(diagnostics=syntax + structure)
    m = doc.model
    env = Env(
        entity=tables[m.entity.table],
        sources={n: tables[s.table] for n, s in m.sources.items()},
        source_time={n: s.time for n, s in m.sources.items()},
        features=features,
        segments=set(m.segments),
        params=dict(m.params),
        functions=dict(functions or {}),
        broken=set(m.features) - set(features),
        namespaces={ns: {f.name: dtype(f.dtype) for f in fields.values()} for ns, (_, _, fields) in active.items()},
        inactive=inactive,
        entity_functions={n: (fn, getattr(m, fn.section, None)) for n, fn in (entity_functions or {}).items()},
    )
    on = {n: (fn, config) for n, (fn, config) in env.entity_functions.items() if config is not None}
    checker = TypeChecker(env)
    source_expressions = _source_expressions(doc, checker, _expression_owners(m, active, on), syntax)
    deps: dict[Ref, list[tuple[Ref, a.Node]]] = {}
    for _, name in _feature_order(features):
        checker.feature_type(name)
        deps[("feature", name)] = [((k, n), nd) for k, n, nd in checker.feature_refs.get(name, [])]
    for name, node in segments.items():
        checker.refs = []
        t = checker.value(node)
        if t is not None and not (t.is_boolean() or t.is_null()):
            checker.error("SR406", f"the rule of segment {name!r} must be true/false, got {describe(t)}", node,
                          "compare it, e.g. ... > 0")
        deps[("segment", name)] = [((k, n), nd) for k, n, nd in checker.refs]
    cycles = find_cycles(deps)
    chains = [] if any(d.is_error for d in cycles) else too_long_chains(deps, topological_order(deps))
    errors = (checker.diagnostics + cycles + chains + _zoned_time_columns(doc, tables)
              + ranks_read_by_aggregates(features, segments, checker.bindings, deps))
    raise_if_errors(syntax + errors, ExprSyntaxError if syntax else TypeCheckError)
    aggregates: dict[str, list[a.Aggregate]] = {name: [] for name in m.sources}
    seen: set[a.Aggregate] = set()
    for node in list(features.values()) + list(segments.values()):
        for sub in node.walk():
            if isinstance(sub, a.Aggregate) and sub not in seen:
                seen.add(sub)
                aggregates[sub.source].append(sub)
    return CheckedSpec(
        document=doc, schemas=tables, features=features, segments=segments, types=checker.types,
        bindings=checker.bindings, feature_types={k: v for k, v in checker.feature_types.items() if v},
        aggregates=aggregates, order=topological_order(deps), deps=deps, functions=env.functions,
        warnings=[d for d in errors if not d.is_error], namespaces=active, source_expressions=source_expressions,
        entity_functions=on,
    )

