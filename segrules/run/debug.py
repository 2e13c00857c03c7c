"""``segrules debug``: does a spec's target connect, and has it the tables and columns the spec
reads? The columns a spec needs are what the checker binds its names to (entity and source
columns, the key and time columns of ``entity:`` and ``sources:``), so the list is exactly what
``run`` would read; a name the database lacks is the checker's positioned diagnostic."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..diagnostics import Diagnostic
from ..errors import SegrulesError


@dataclass(frozen=True)
class TableNeeds:
    """A table the spec reads: whether the database has it, and the columns read from it."""

    name: str
    present: bool
    columns: tuple[str, ...] = ()  # read and present
    missing: tuple[str, ...] = ()  # read, but not columns of the table


@dataclass
class SpecNeeds:
    """What :func:`spec_needs` found: the tables (in the spec's order), and the diagnostics of the
    names the database lacks (or any other check error: a type that does not fit)."""

    tables: list[TableNeeds] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(t.present and not t.missing for t in self.tables) and not self.diagnostics


def spec_needs(spec, con) -> SpecNeeds:
    """The tables and columns ``spec`` (a :class:`segrules.Spec`) reads from ``con``."""
    available = set(con.list_tables())
    found = SpecNeeds()
    try:
        checked = spec.check(con)
    except SegrulesError as exc:
        found.diagnostics = list(exc.diagnostics)
        checked = None
    for table, cols in columns_read(spec, checked).items():
        if table not in available:
            found.tables.append(TableNeeds(table, False, cols))
            continue
        names = set(con.table(table).schema().names)
        found.tables.append(TableNeeds(table, True, tuple(c for c in cols if c in names),
                                       tuple(c for c in cols if c not in names)))
    return found


def columns_read(spec, checked=None) -> dict[str, tuple[str, ...]]:
    """Table -> the columns ``spec`` reads from it, in first-use order: the key and time columns
    of ``entity:`` and ``sources:``, then (with ``checked``, the spec checked) the columns its
    rules and sections read."""
    from ..check.schema import tables_used
    from ..check.typecheck import EntityColumn, SourceColumn

    m = spec.model
    columns: dict[str, list[str]] = {t: [] for t in tables_used(spec.document)}
    columns[m.entity.table] += [c for c in (m.entity.key, m.entity.time) if c]
    for src in m.sources.values():
        columns[src.table] += [c for c in (src.key, src.time) if c]
    for binding in (checked.bindings.values() if checked is not None else ()):
        if isinstance(binding, EntityColumn):
            columns[m.entity.table].append(binding.name)
        elif isinstance(binding, SourceColumn):
            columns[m.sources[binding.source].table].append(binding.name)
    return {t: tuple(dict.fromkeys(cols)) for t, cols in columns.items()}
