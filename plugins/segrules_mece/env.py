"""The variables of a translation and what is known about them: columns, plugin values, ``now``,
features and segments (expanded), and aggregates (abstract variables or bounded symbolic rows)."""

from __future__ import annotations

from typing import Any

import z3

from segrules.plugin import DataType, ast as a, parse_type, unparse

from .smt import FALSE, DAY, Translator, Unsupported, Val, fresh, kind_of, within_seconds

YEAR = 365 * DAY
# A witness's `now` lies in 2000..2100, so every time in it can be written as a timestamp.
NOW_RANGE = (946684800, 4102444800)
PRINTABLE = z3.Star(z3.Range(" ", "~"))
MAX_STRING = 24


class Domain:
    """Facts about one column: from its type (nullable or not) and the spec's ``assume:``."""

    def __init__(self, dtype: DataType, assumption=None, time_column: bool = False):
        self.dtype, self.assumption, self.time_column = dtype, assumption, time_column

    @property
    def kind(self) -> str:
        return kind_of(self.dtype)

    @property
    def minimum(self):
        return None if self.assumption is None else self.assumption.minimum

    @property
    def maximum(self):
        return None if self.assumption is None else self.assumption.maximum

    def nullable(self) -> bool:
        return not self.time_column and self.dtype.nullable and not (self.assumption and self.assumption.not_null)

    def facts(self, x: Val, now, concrete: bool) -> list:
        out = []
        if not self.nullable():
            out.append(z3.Not(x.null))
        out += [z3.Implies(z3.Not(x.null), f) for f in self.value_facts(x.v, now, concrete)]
        return out

    def value_facts(self, v, now, concrete: bool) -> list:
        out = []
        if self.minimum is not None and self.kind in ("int", "real"):
            out.append(v >= z3.RealVal(str(self.minimum)) if self.kind == "real" else v >= int(self.minimum))
        if self.maximum is not None and self.kind in ("int", "real"):
            out.append(v <= z3.RealVal(str(self.maximum)) if self.kind == "real" else v <= int(self.maximum))
        if self.assumption is not None and self.assumption.values and self.kind == "str":
            out.append(z3.Or([v == z3.StringVal(s) for s in self.assumption.values]))
        if self.time_column:
            out.append(v <= (now if self.kind == "ts" else z3.ToInt(now / DAY)))
        if concrete:
            out += self.representable(v, now)
        return out

    def representable(self, v, now) -> list:
        """Values a database can store exactly, so a witness can be inserted as data."""
        t = self.dtype
        if t.is_decimal():
            return [z3.IsInt(v * 10 ** (t.scale or 0))]
        if t.is_floating():
            return [z3.IsInt(v * 1024), v < 10**12, v > -10**12]
        if t.is_integer():
            return [v < 2**62, v > -(2**62)]
        if t.is_timestamp():
            return [z3.IsInt(v), v > now - 100 * YEAR, v < now + 100 * YEAR]
        if t.is_date():
            return [v > z3.ToInt(now / DAY) - 36500, v < z3.ToInt(now / DAY) + 36500]
        if t.is_string():
            return [z3.InRe(v, PRINTABLE), z3.Length(v) <= MAX_STRING]
        return []


class Row:
    """One symbolic row of a source (concrete mode) or a generic row (filter implications)."""

    def __init__(self, env: "Env", source: str, name: str):
        self.env, self.source, self.name = env, source, name
        self.present = z3.Bool(f"{name}.present")
        self.columns: dict[str, Val] = {}
        self.facts: list = []  # what the columns' domains say (also in env.facts)

    def column(self, column: str) -> Val:
        if column not in self.columns:
            domain = self.env.source_domain(self.source, column)
            x = Val(fresh(f"{self.name}.{column}", domain.kind), z3.Bool(f"{self.name}.{column} is null"),
                    domain.kind)
            facts = domain.facts(x, self.env.now, self.env.concrete)
            self.facts += facts
            self.env.facts += facts
            self.env.note_time(x)
            self.columns[column] = x
        return self.columns[column]

    def time(self) -> Val | None:
        time = self.env.model.sources[self.source].time
        return self.column(time) if time else None


class Env:
    """Shared variables of one spec's translation.  ``rows``: source -> number of symbolic rows
    (concrete mode); None for the abstract mode."""

    def __init__(self, checked, rows: dict[str, int] | None = None):
        self.checked, self.model = checked, checked.model
        self.params = dict(self.model.params)
        self.concrete = rows is not None
        self.now = z3.Real("now")
        self.facts: list = []
        self.approximations: list[tuple[a.Node, str]] = []
        self.opaque: dict = {}
        self.columns: dict[str, Val] = {}
        self.values: dict[tuple[str, str], Val] = {}
        self.features: dict[str, Val] = {}
        self.segments: dict[str, Any] = {}
        self.aggregates: dict[a.Aggregate, Val] = {}
        self.assumptions = dict(getattr(self.model, "assume", None) or {})
        self.times: list = []  # temporal values of the witness, in seconds (concrete mode)
        self.numbers: list = []  # numeric values of the witness
        if self.concrete:
            self.facts += [z3.IsInt(self.now), self.now >= NOW_RANGE[0], self.now <= NOW_RANGE[1]]
            self.rows = {s: [Row(self, s, f"{s}#{i + 1}") for i in range(n)] for s, n in rows.items()}
            for source, rows_ in self.rows.items():
                times = [r.time() for r in rows_]
                if len(times) > 1 and times[0] is not None:  # first/last are well defined
                    self.facts.append(z3.Distinct([t.v for t in times]))
        self.root = Translator(checked, self)
        self._entity_facts()

    # -- columns and values --------------------------------------------------------------
    def _entity_facts(self):
        time = self.model.entity.time
        if time:  # entities created after `now` are not in the universe
            self.entity_column(time)

    def entity_domain(self, column: str) -> Domain:
        m = self.model
        dtype = self.checked.schemas[m.entity.table][column]
        return Domain(dtype, self.assumptions.get(column), time_column=column == m.entity.time)

    def source_domain(self, source: str, column: str) -> Domain:
        src = self.model.sources[source]
        dtype = self.checked.schemas[src.table][column]
        return Domain(dtype, self.assumptions.get(f"{source}.{column}"), time_column=column == src.time)

    def entity_column(self, column: str) -> Val:
        if column not in self.columns:
            domain = self.entity_domain(column)
            x = Val(fresh(column, domain.kind), z3.Bool(f"{column} is null"), domain.kind)
            self.facts += domain.facts(x, self.now, self.concrete)
            self.note_time(x)
            self.columns[column] = x
        return self.columns[column]

    def note_time(self, x: Val) -> None:
        if x.kind in ("ts", "date"):
            self.times.append((x.null, _ts(x)))
        elif x.kind in ("int", "real"):
            self.numbers.append((x.null, x.v))

    def readable(self, reference: int, years: int = 3) -> list:
        """Preferences for a witness people can read: ``now`` at ``reference`` (epoch seconds) and
        every time within ``years`` before it, numbers within a million of 0."""
        out = [self.now == reference]
        out += [z3.Implies(z3.Not(null), z3.And(t <= self.now, t >= self.now - years * YEAR))
                for null, t in self.times]
        out += [z3.Implies(z3.Not(null), z3.And(v <= 10**6, v >= -(10**6))) for null, v in self.numbers]
        return out

    def namespace_value(self, namespace: str, name: str) -> Val:
        key = (namespace, name)
        if key not in self.values:
            _, _, fields = self.checked.namespaces[namespace]
            field = fields[name]
            kind = kind_of(parse_type(field.dtype))
            x = Val(fresh(f"{namespace}.{name}", kind), z3.Bool(f"{namespace}.{name} is null"), kind)
            if not field.nullable:
                self.facts.append(z3.Not(x.null))
            if field.minimum is not None and kind in ("int", "real"):
                self.facts.append(z3.Implies(z3.Not(x.null), x.v >= _num(field.minimum, kind)))
            if field.maximum is not None and kind in ("int", "real"):
                self.facts.append(z3.Implies(z3.Not(x.null), x.v <= _num(field.maximum, kind)))
            if field.values is not None and kind == "str":
                self.facts.append(z3.Implies(z3.Not(x.null), z3.Or([x.v == z3.StringVal(s) for s in field.values])))
            self.values[key] = x
        return self.values[key]

    def feature(self, tr: Translator, name: str) -> Val:
        if name not in self.features:
            self.features[name] = self.root.translate(self.checked.features[name])
        return self.features[name]

    def segment(self, tr: Translator, name: str):
        """'In segment ``name``': its rule is true (unknown and null are not a match)."""
        if name not in self.segments:
            node = self.checked.segments[name]
            if self.checked.type_of(node).is_null():
                self.segments[name] = FALSE
            else:
                self.segments[name] = self.root.translate(node).true
        return self.segments[name]

    # -- aggregates ----------------------------------------------------------------------
    def aggregate(self, tr: Translator, node: a.Aggregate) -> Val:
        if node not in self.aggregates:
            if self.concrete:
                from .rows import aggregate_over_rows
                self.aggregates[node] = aggregate_over_rows(self, node)
            else:
                from .aggregates import abstract_aggregate
                self.aggregates[node] = abstract_aggregate(self, node)
        return self.aggregates[node]

    def qualifies(self, row: Row, node: a.Aggregate):
        """Row ``row`` counts for aggregate ``node``: its where and window hold (and, for an
        aggregate of a column, the column is not null)."""
        tr = self.root.at_row(row)
        conds = [row.present]
        if node.where is not None:
            conds.append(tr.translate(node.where).true)
        time = row.time()
        if isinstance(node.window, a.Within):
            conds.append(_ts(time) > self.now - within_seconds(self.params, node.window))
        elif isinstance(node.window, a.TimeRange):
            start, end = tr.translate(node.window.start), tr.translate(node.window.end)
            kind = "ts" if time.kind == "ts" or "ts" in (start.kind, end.kind) else "date"
            from .smt import numeric
            t = numeric(time, kind)
            conds += [z3.Not(start.null), z3.Not(end.null), t >= numeric(start, kind), t <= numeric(end, kind)]
        if node.column is not None:
            conds.append(z3.Not(row.column(node.column).null))
        return z3.And(conds)

    def label(self, node) -> str:
        return unparse(node)


def _ts(time: Val):
    return time.v if time.kind == "ts" else z3.ToReal(time.v * DAY)


def _num(value, kind):
    return z3.RealVal(str(value)) if kind == "real" else z3.IntVal(int(value))


__all__ = ["Env", "Row", "Domain", "Unsupported"]
