"""The numbers of ``segrules funnel``, from ONE query: per step the users who reached it and the
median and 90th percentile of the time from the previous step (over the users' chains, see
chains.py), and per breakdown group the users per step. Conversion, the biggest drop-off and
the chi-square tests are derived here from those counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt

from segrules.plugin import Diagnostic, PluginError, SpecError

from .chains import KEY, chains
from .config import SECTION, Funnel
from .significance import ChiSquare, chi_square
from .steps import breakdown_key, funnel_diagnostics

NULL_GROUP = "(null)"


@dataclass(frozen=True)
class StepRow:
    label: str
    users: int
    step_conversion: float | None  # users / users of the previous step (None for step 1 or 0 before)
    overall_conversion: float | None  # users / users of step 1
    median_seconds: float | None  # time from the previous step, over the users who reached this one
    p90_seconds: float | None

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Group:
    value: str  # the breakdown value as text; NULL_GROUP for null
    users: tuple[int, ...]  # per step

    @property
    def conversion(self) -> float:
        return self.users[-1] / self.users[0]

    def to_dict(self) -> dict:
        return {"value": self.value, "users": list(self.users), "conversion": self.conversion}


@dataclass(frozen=True)
class Breakdown:
    name: str  # the expression, as written
    groups: list[Group]
    conversion_test: ChiSquare | None  # converted (last step) vs not, among step-1 users, by group
    drop_test: ChiSquare | None  # at the biggest drop-off: reached it vs not, among the step before

    def to_dict(self) -> dict:
        return {"name": self.name, "groups": [g.to_dict() for g in self.groups],
                "conversion_test": self.conversion_test and self.conversion_test.to_dict(),
                "drop_test": self.drop_test and self.drop_test.to_dict()}


@dataclass(frozen=True)
class FunnelReport:
    spec: str
    funnel: str
    as_of: datetime
    config: Funnel
    steps: list[StepRow]
    biggest_drop: int | None  # index of the step with the lowest step conversion (>= 1); None: nobody lost
    breakdowns: list[Breakdown] = field(default_factory=list)

    def to_dict(self) -> dict:
        c = self.config
        return {"spec": self.spec, "funnel": self.funnel, "as_of": self.as_of.isoformat(),
                "convert": c.convert, "within": c.within, "entry": c.entry,
                "steps": [s.to_dict() for s in self.steps],
                "biggest_drop": None if self.biggest_drop is None else {
                    "from": self.steps[self.biggest_drop - 1].label, "to": self.steps[self.biggest_drop].label,
                    "step": self.biggest_drop + 1, "lost": self.steps[self.biggest_drop - 1].users
                    - self.steps[self.biggest_drop].users,
                    "step_conversion": self.steps[self.biggest_drop].step_conversion},
                "breakdowns": [b.to_dict() for b in self.breakdowns]}


def funnel_of(spec, name: str) -> Funnel:
    config = spec.section(SECTION)
    if config is None or name not in config:
        names = config.names() if config is not None else []
        raise SpecError(f"{spec.path}: no funnel named {name!r}", code="FNL103",
                        hint=("funnels: " + ", ".join(names)) if names else "add a funnels: section")
    return config[name]


def per_user(ctx, name: str, by: list[tuple[str, object]]):
    """The funnel's users (entities with a step-1 row): key, ``reached``, ``_d2.._dk`` (seconds from
    the previous step in their chain) and ``_b0..`` (the breakdown values as text)."""
    funnel = ctx.config[name]
    k = len(funnel.steps)
    c = chains(ctx, name)
    if by:
        values = by_values(ctx, by)
    else:
        values = ctx.entity.select(ctx.key)
    joined = c.join(values, c[KEY] == values[ctx.key])
    columns = {"reached": joined["reached"]}
    for j in range(2, k + 1):
        micro = joined[f"_t{j}"].delta(joined[f"_t{j - 1}"], unit="microsecond")
        columns[f"_d{j}"] = micro.cast(dt.float64) / 1e6
    for i in range(len(by)):
        columns[f"_b{i}"] = joined[f"_b{i}"]
    return joined.select(**columns)


def by_values(ctx, by: list[tuple[str, object]]):
    """Key and ``_b{i}`` per breakdown, as text: the spec's breakdown expressions (keys of the
    section's entity expressions), or entity columns (``--by``)."""
    if all(isinstance(what, Column) for _, what in by):
        entity = ctx.entity
        return entity.select(ctx.key, **{f"_b{i}": entity[what.column].cast(dt.string)
                                         for i, (_, what) in enumerate(by)})
    table = ctx.entity_values({f"_b{i}": what for i, (_, what) in enumerate(by)})
    return table.select(ctx.key, **{f"_b{i}": table[f"_b{i}"].cast(dt.string) for i in range(len(by))})


def _aggregates(users, k: int, quantiles: bool) -> dict:
    out = {f"n{j}": (users["reached"] >= j).ifelse(1, 0).sum() for j in range(1, k + 1)}
    for j in range(2, k + 1):
        d = users[f"_d{j}"]
        out[f"q50_{j}"] = d.quantile(0.5) if quantiles else ibis.null(dt.float64)
        out[f"q90_{j}"] = d.quantile(0.9) if quantiles else ibis.null(dt.float64)
    return out


def summary_query(ctx, name: str, by: list[tuple[str, object]]):
    """ONE query: a row for the whole funnel (``_dim`` -1) and one per breakdown group."""
    k = len(ctx.config[name].steps)
    users = per_user(ctx, name, by)
    parts = [users.aggregate(_dim=ibis.literal(-1, dt.int64), _grp=ibis.null(dt.string),
                             **_aggregates(users, k, True))]
    for i in range(len(by)):
        grouped = users.group_by(_grp=users[f"_b{i}"]).aggregate(**_aggregates(users, k, False))
        parts.append(grouped.select(_dim=ibis.literal(i, dt.int64), _grp=grouped["_grp"],
                                    **{c: grouped[c] for c in grouped.columns if c != "_grp"}))
    union = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return union


def _ratio(a: int, b: int) -> float | None:
    return a / b if b else None


def _num(x) -> float | None:
    return None if x is None or x != x else float(x)


def compute_report(spec, con, name: str, *, as_of=None, params=None,
                   by: list[str] | None = None) -> FunnelReport:
    """The report of funnel ``name``; ``by``: entity columns to break down by instead of the
    funnel's ``breakdown:`` expressions."""
    funnel = funnel_of(spec, name)
    problems = [d for d in funnel_diagnostics(spec.document, name) if d.is_error]
    if problems:
        raise PluginError(diagnostics=problems)
    spec.check(con)  # core errors (unknown columns in steps, types) first, with their positions
    ctx = spec.section_context(con, SECTION, as_of=as_of, params=params)
    dims = _dimensions(spec, con, name, funnel, by)
    rows = summary_query(ctx, name, dims).to_pyarrow().to_pylist()
    k = len(funnel.steps)
    overall = next(r for r in rows if r["_dim"] == -1)
    counts = [int(overall[f"n{j}"] or 0) for j in range(1, k + 1)]
    steps = [StepRow(funnel.label(0), counts[0], None, 1.0 if counts[0] else None, None, None)]
    for j in range(2, k + 1):
        steps.append(StepRow(funnel.label(j - 1), counts[j - 1], _ratio(counts[j - 1], counts[j - 2]),
                             _ratio(counts[j - 1], counts[0]), _num(overall[f"q50_{j}"]),
                             _num(overall[f"q90_{j}"])))
    rates = [(s.step_conversion, i) for i, s in enumerate(steps) if s.step_conversion is not None]
    drop = min(rates)[1] if rates and min(rates)[0] < 1 else None  # no drop-off when nobody was lost
    breakdowns = []
    for i, (label, _) in enumerate(dims):
        groups = sorted((Group(NULL_GROUP if r["_grp"] is None else r["_grp"],
                               tuple(int(r[f"n{j}"] or 0) for j in range(1, k + 1)))
                         for r in rows if r["_dim"] == i), key=lambda g: (-g.users[0], g.value))
        converted = chi_square([[g.users[-1] for g in groups], [g.users[0] - g.users[-1] for g in groups]])
        at_drop = None if drop is None else chi_square(
            [[g.users[drop] for g in groups], [g.users[drop - 1] - g.users[drop] for g in groups]])
        breakdowns.append(Breakdown(label, groups, converted, at_drop))
    return FunnelReport(spec.name, name, ctx.now, funnel, steps, drop, breakdowns)


@dataclass(frozen=True)
class Column:
    """``--by COL``: an entity column."""

    column: str


def _dimensions(spec, con, name: str, funnel: Funnel, by: list[str] | None):
    """(label, what) per breakdown: a section expression key, or an entity :class:`Column`."""
    if not by:
        return [(text, breakdown_key(name, i)) for i, text in enumerate(funnel.breakdown)]
    schema = spec.check(con).schemas[spec.model.entity.table]
    missing = [c for c in by if c not in schema]
    if missing:
        raise SpecError(diagnostics=[Diagnostic(
            "FNL104", f"--by {c}: the entity table {spec.model.entity.table!r} has no column {c!r}",
            hint="columns: " + ", ".join(schema.names)) for c in missing])
    return [(c, Column(c)) for c in by]
