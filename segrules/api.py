"""The Python API. The CLI is a thin layer over this module.

>>> spec = segrules.load("segment_specs/ecommerce.yaml")
>>> con = segrules.connect("shop.duckdb")
>>> wide = spec.evaluate(con, as_of="2026-11-01")       # an Ibis table expression
>>> wide.to_pyarrow()
"""

from __future__ import annotations

import math
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable
from zoneinfo import ZoneInfo

import sys
from typing import TYPE_CHECKING

# Light imports only: what loading and checking a spec's syntax needs. The type checker and the
# compiler (Ibis) are imported by the methods that use them, so `import segrules`, `--version`
# and offline `validate` of a spec without a schema: block never import Ibis or Arrow.
from .check import ranges
from .check.overlaps import overlap_diagnostics
from .compile.derived import check_derived
from .diagnostics import Diagnostic, Severity, Span
from .errors import SegrulesError, SpecError, TypeCheckError
from .lang.lexicon import duration_param
from .lang.reserved import RESERVED_FUNCTIONS
from .plugin import Registry, ValidationContext, build_registry
from .run import connect
from .spec import SpecDocument, parse_spec, read_spec
from .spec.expressions import parse_expressions
from .sync.config import sync_diagnostics

if TYPE_CHECKING:
    from .check.analyze import CheckedSpec
    from .compile.namespaces import NamespaceBuild


def default_registry(plugins: Iterable[object] = (), load_entrypoints: bool = True) -> Registry:
    """Load the installed plugins (the ``segrules`` entry-point group) plus ``plugins``."""
    return build_registry(load_entrypoints=load_entrypoints, plugins=plugins,
                          reserved_functions=RESERVED_FUNCTIONS)


def parse_as_of(value: datetime | date | str | None, zone: str = "UTC") -> datetime:
    """``now`` for a run: a naive wall-clock time in ``zone`` (the spec's ``timezone:``). None
    means the current time (to the second); a time with an offset is converted to ``zone``; a
    date or a time without offset is read in ``zone``."""
    if value is None:
        return datetime.now(ZoneInfo(zone)).replace(tzinfo=None, microsecond=0)
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise SpecError(f"--as-of: {text!r} is not a date or timestamp (use 2026-01-31 or "
                            "2026-01-31T10:00:00)", code="SR109") from None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
        return value
    return datetime(value.year, value.month, value.day)


def _coerce_param(name: str, declared: Any, raw: Any) -> Any:
    """A parameter value given on the command line (text) or through the API, as the type of the
    value the spec declares, within the ranges the type checker enforces for ``params:``
    (check/ranges.py): SR110 otherwise."""
    value = _convert_param(name, declared, raw)
    span = duration_param(value)
    if isinstance(value, int) and not isinstance(value, bool) and not ranges.int64_fits(value):
        problem = "out of the 64-bit range of integers"
    elif isinstance(value, float) and not math.isfinite(value):
        problem = "not a finite number"
    elif span is not None and abs(span.seconds) > ranges.MAX_SHIFT_SECONDS:
        problem = f"longer than the {ranges.MAX_SHIFT_DAYS} days (about 1000 years) a time can be moved"
    elif isinstance(value, str) and "\0" in value:
        problem = "contains the NUL character (U+0000), which PostgreSQL text cannot hold"
    else:
        return value
    raise SpecError(f"--param {name}={raw}: {problem}", code="SR110")


def _convert_param(name: str, declared: Any, raw: Any) -> Any:
    if duration_param(declared) is not None:  # a duration parameter takes only durations
        if duration_param(raw.strip() if isinstance(raw, str) else raw) is None:
            raise SpecError(f"--param {name}={raw}: ${name} is a duration; expected a value like {declared}, "
                            "in s, min, h, d or w", code="SR110")
        return raw.strip()
    if not isinstance(raw, str) or isinstance(declared, str):
        return raw
    text = raw.strip()
    try:
        if isinstance(declared, bool):
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return text.lower() in ("true", "1", "yes")
        if isinstance(declared, int):
            return int(text)
        if isinstance(declared, float):
            return float(text)
        if isinstance(declared, datetime):
            return datetime.fromisoformat(text)
        if isinstance(declared, date):
            return date.fromisoformat(text)
    except ValueError:
        raise SpecError(f"--param {name}={raw}: expected a value like {declared!r}", code="SR110") from None
    return raw


class Spec:
    """A loaded spec: parse once, then check, compile and evaluate against connections."""

    def __init__(self, document: SpecDocument, registry: Registry):
        self.document = document
        self.registry = registry
        self._checked: dict[int, tuple[Any, CheckedSpec]] = {}
        self._tables: dict[int, tuple[Any, CheckedSpec, dict[str, Any]]] = {}  # the tables check read

    # -- facts -------------------------------------------------------------------------
    @property
    def model(self):
        return self.document.model

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def path(self) -> str:
        return self.document.path

    @property
    def segments(self) -> list[str]:
        """The output segments: the spec's own, then those plugins derive (an ``else`` segment)."""
        return list(dict.fromkeys([*self.model.segments, *self.derived()]))

    def derived(self) -> dict:
        """Output segments derived by plugins (``register_segment_outputs``), by name."""
        found = []
        for definition in self.registry.segment_outputs.values():
            config = getattr(self.model, definition.section, None)
            if config is not None:
                found += definition.derive(config, self.model)
        taken = {*self.model.features, self.model.entity.key}
        return check_derived(found, self.model.segments, taken)

    @property
    def features(self) -> list[str]:
        return list(self.model.features)

    @property
    def key(self) -> str:
        return self.model.entity.key

    @property
    def timezone(self) -> str:
        return self.model.timezone

    def now(self, as_of=None) -> datetime:
        """``now`` for ``as_of`` as a naive wall-clock time in the spec's time zone. An Ibis
        timestamp parameter (``ibis.param``) is kept as it is: one plan, run at many times."""
        ibis = sys.modules.get("ibis")  # an Ibis expression exists only once Ibis is imported
        if ibis is not None and isinstance(as_of, ibis.Expr):
            return as_of
        return parse_as_of(as_of, self.model.timezone)

    def section(self, name: str):
        """A plugin's top-level section (e.g. ``rfm``), validated by its model, or None."""
        return getattr(self.model, name, None)

    # -- stages ------------------------------------------------------------------------
    def check(self, con=None) -> CheckedSpec:
        """Resolve and type-check against ``con``'s tables (or the ``schema:`` block)."""
        from .check.analyze import analyze
        from .check.schema import resolve_schemas

        cache_key = id(con)
        cached = self._checked.get(cache_key)
        if cached is not None and cached[0] is con:
            return cached[1]
        tables: dict[str, Any] = {}
        schemas = resolve_schemas(self.document, con, tables)
        checked = analyze(self.document, schemas, self.registry.functions, self.registry.namespaces,
                          self.registry.entity_functions)
        self._checked[cache_key] = (con, checked)
        self._tables[cache_key] = (con, checked, tables)
        return checked

    def params(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """The spec's params with ``overrides`` applied (strings coerced to the declared type)."""
        values = dict(self.model.params)
        for name, raw in (overrides or {}).items():
            if name not in values:
                known = ", ".join(values) or "none"
                raise SpecError(f"unknown parameter {name!r} (the spec declares: {known})", code="SR305")
            values[name] = _coerce_param(name, values[name], raw)
        return values

    def compile(self, con=None, *, as_of=None, params: dict[str, Any] | None = None,
                segments: list[str] | None = None, features: bool | list[str] = True, derived: bool = True,
                dialect: str | None = None):
        """The wide membership table as an Ibis expression. Without ``con`` the tables are
        unbound (from the ``schema:`` block), for SQL generation and offline checks.
        ``derived=False``: each segment's own rule, without the plugins' output rewrites.
        ``dialect`` (default: ``con``'s backend) picks the faster built-ins some backends have."""
        from .compile.derived import apply_derived, raw_segments
        from .compile.plan import compile_plan

        checked = self.check(con)
        tables, now, values = self.tables(con, checked), self.now(as_of), self.params(params)
        dialect = dialect or getattr(con, "name", None)
        derived = self.derived() if derived else {}
        if not derived:
            return compile_plan(checked, tables, now, values, segments, features, dialect=dialect)
        names = self.segments if segments is None else list(segments)
        raw = raw_segments(names, derived, self.model.segments)
        wide = compile_plan(checked, tables, now, values, raw, features, dialect=dialect)
        return apply_derived(wide, self.key, names, raw, derived)

    def tables(self, con, checked: CheckedSpec | None = None) -> dict[str, Any]:
        """The Ibis tables the spec reads, by name: ``con``'s, or unbound ones from the
        ``schema:`` block when ``con`` is None."""
        checked = checked if checked is not None else self.check(con)
        m = self.model
        cached = self._tables.get(id(con))
        read = cached[2] if cached is not None and cached[0] is con and cached[1] is checked else {}
        names = {m.entity.table, *(s.table for s in m.sources.values())}
        if con is None:
            import ibis

            from .compile.datatypes import to_ibis_schema
            return {table: ibis.table(to_ibis_schema(checked.schemas[table]), name=table) for table in names}
        return {table: read[table] if table in read else con.table(table) for table in names}

    def namespace(self, con, name: str, *, as_of=None, params: dict[str, Any] | None = None):
        """All values of the plugin namespace ``name`` (``rfm``) as an Ibis table: the key and one
        column per value, at most one row per entity (as the plan joins it)."""
        from .compile.namespaces import build_namespace
        from .compile.plan import Plan

        checked = self.check(con)
        if name not in checked.namespaces:
            raise SpecError(f"the spec does not switch on the {name}.* values", code="SR313")
        _, _, fields = checked.namespaces[name]
        return build_namespace(name, checked, self.tables(con, checked), self.now(as_of),
                               self.params(params), list(fields), Plan, dialect=getattr(con, "name", None))

    def section_context(self, con, section: str, *, as_of=None,
                        params: dict[str, Any] | None = None) -> NamespaceBuild:
        """What a plugin command computes a section's analysis with: the checked spec, the tables
        as of ``as_of`` and the section's source and entity expressions compiled (the context an
        ``EntityFunctionDef.build`` gets, without an entry)."""
        from .compile.namespaces import NamespaceBuild
        from .compile.plan import Plan

        checked = self.check(con)
        config = self.section(section)
        if config is None:
            raise SpecError(f"the spec has no {section}: section", code="SR313")
        return NamespaceBuild(section, config, checked, self.tables(con, checked), self.now(as_of),
                              self.params(params), planner=Plan, dialect=getattr(con, "name", None))

    def evaluate(self, con, *, as_of=None, params: dict[str, Any] | None = None,
                 segments: list[str] | None = None, features: bool | list[str] = True, derived: bool = True):
        """Like :meth:`compile` against a connection: an Ibis table with one row per entity,
        the key, one boolean column per segment, then the features. ``.to_pyarrow()`` runs it."""
        return self.compile(con, as_of=as_of, params=params, segments=segments, features=features,
                            derived=derived)

    def sync(self, con, *, syncs: list[str] | None = None, state=None, as_of=None,
             params: dict[str, Any] | None = None, dry_run: bool = False, full_resync: bool = False,
             lock_timeout: float | str = 0.0, progress=None, env=None, retry_dead: bool = False):
        """Sync the audiences of the spec's ``syncs:`` section (``syncs``: these by name, default
        all) from ``con``'s tables to their destinations; what ``segrules sync`` runs. Only what
        changed since each destination last acknowledged is sent; ``state`` is the state store
        (a DuckDB file or Ibis URL[#schema], default ``.segrules/state.duckdb``). A dry run, or a
        run ``max_removals`` refused, sends nothing. Returns a
        :class:`~segrules.sync.session.SyncResult`; see docs/sync.md. ``env``: where ``${NAME}``
        secrets are read (default: the process environment); ``retry_dead``: send the rows parked
        as dead (refused ``dead_after`` runs in a row) again."""
        from .sync.session import run_syncs  # the engine (Arrow, HTTP clients) only when syncing
        return run_syncs(self, con, syncs=syncs, state=state, as_of=as_of, params=params, dry_run=dry_run,
                         full_resync=full_resync, lock_timeout=lock_timeout, progress=progress, env=env,
                         retry_dead=retry_dead)

    def to_sql(self, dialect: str = "duckdb", *, con=None, segments: list[str] | None = None,
               as_of=None, params: dict[str, Any] | None = None) -> str:
        import ibis
        import ibis.backends.sql.compilers as compilers

        backend = IBIS_DIALECTS.get(dialect, dialect)  # sqlglot's name -> the Ibis backend that writes it
        if getattr(getattr(compilers, backend, None), "compiler", None) is None:
            raise SpecError(f"--dialect {dialect}: Ibis has no SQL compiler for it", code="SR111",
                            hint="dialects Ibis writes: duckdb, postgres, spark, snowflake, bigquery, trino, "
                                 "mysql, mssql, sqlite, …")
        expr = self.compile(con, as_of=as_of, params=params, segments=segments, dialect=backend)
        if backend == "pyspark":
            from .run.spark import register_sql_options
            from .run.spark_sql import to_sql
            register_sql_options()
            return to_sql(expr)
        return str(ibis.to_sql(expr, dialect=backend))

    def _validate_without_schema(self) -> list[Diagnostic]:
        """Syntax only: every expression parses. Names and types need schemas."""
        _, _, syntax = parse_expressions(self.document)
        return syntax + [_no_schema_note(self.path)]

    def validate(self, con=None) -> list[Diagnostic]:
        """Every problem found (all severities), core checks then plugin validators. Never raises
        for a problem in the spec."""
        diags: list[Diagnostic] = []
        checked = None
        try:
            if con is None and self.model.schema_ is None:
                diags.extend(self._validate_without_schema())
            else:
                checked = self.check(con)
                diags.extend(checked.warnings)
        except SegrulesError as exc:
            diags.extend(exc.diagnostics)
        columns = list(checked.schemas[self.model.entity.table].names) if checked is not None else None
        diags.extend(sync_diagnostics(self, columns))
        diags.extend(overlap_diagnostics(self.document))
        ctx = ValidationContext(self.document, checked, con)
        for name, validator in self.registry.validators.items():
            plugin = self.registry.owner.get(("validators", name), "?")
            try:
                diags.extend(validator.check(ctx) or [])
            except Exception as exc:  # a crashing plugin validator must not hide the other results
                diags.append(Diagnostic("SR601", f"validator {name!r} of plugin {plugin} crashed: "
                                        f"{type(exc).__name__}: {exc}", severity=Severity.ERROR, source=plugin))
        return diags


def spec_sections(registry: Registry) -> dict:
    """Plugin spec sections: top-level key -> pydantic model."""
    return {name: section.model for name, section in registry.sections.items()}


def _no_schema_note(path: str) -> Diagnostic:
    return Diagnostic("SR120", "names and types not checked: the spec has no schema: block and no database "
                      "was given (--db; con= in Python)", Span(path, 1, 1), Severity.WARNING,
                      hint="pass --db URL (con= in Python), or add a schema: block to validate offline")


def load_text(text: str, path: str = "<string>", *, registry: Registry | None = None) -> Spec:
    """Parse and validate spec text (YAML). Raises :class:`SpecError` on problems."""
    registry = registry if registry is not None else default_registry()
    return Spec(parse_spec(text, path, spec_sections(registry)), registry)


# sqlglot dialect names whose Ibis backend has another name
IBIS_DIALECTS = {"spark": "pyspark", "spark2": "pyspark"}


def load(path: str | Path, *, registry: Registry | None = None) -> Spec:
    """Load a spec file. Raises :class:`SpecError` with file:line:col on problems."""
    registry = registry if registry is not None else default_registry()
    return Spec(read_spec(path, spec_sections(registry)), registry)


__all__ = ["Spec", "load", "load_text", "connect", "default_registry", "parse_as_of", "TypeCheckError"]
