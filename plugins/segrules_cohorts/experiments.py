"""Experiments, built with Ibis in the database.

Definitions (docs/plugins/cohorts.md has them with examples):

* **assignment**: as of ``start`` (or now, if that is earlier), the entities for which
  ``population`` holds are split by the built-in salted hash ``bucket(key, salt, W)`` (W: the sum of
  the weights): bucket values ``0 .. w₁-1`` go to the first group, the next ``w₂`` to the second,
  and so on in the order of ``groups:``. ``variant(name)`` is that group (null outside);
* **metric** (post): the metric per entity as of now, over the source rows from ``start`` on;
* **pre-period metric** (with ``pre_period: D``): the metric as of ``start``, over the source rows
  in ``[start - D, start)``. The difference-in-differences estimate is the Welch comparison of the
  per-entity changes ``post - pre`` (entities whose metric is null in either are left out);
* a null metric is left out of the mean (the group size still counts it, for the sample ratio).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import ibis
import ibis.expr.datatypes as dt

from .checks import checked_entry
from .inference import Comparison, SampleRatio, Summary, interval, sample_ratio, two_proportions, welch


def assignment(ctx, name: str):
    """``key``, ``variant`` for the entities in the population (as of start)."""
    e = checked_entry(ctx, name)
    at = min(e.start_time, ctx.now) if isinstance(ctx.now, datetime) else e.start_time
    v = ctx.entity_values({"member": f"{name}.population", "bucket": f"{name}.bucket"}, now=at)
    v = v.filter(v.member.fill_null(False))
    cases, upper = [], 0
    for group, weight in e.split.groups.items():
        upper += weight
        cases.append((v.bucket < upper, group))
    return v.select(ctx.key, variant=ibis.cases(*cases, else_=ibis.null(dt.string)))


def build_variant(ctx):
    """``EntityFunctionDef.build`` of ``variant(name)``."""
    a = assignment(ctx, ctx.entry)
    return a.select(ctx.key, value=a.variant)


def _between(ctx, low, high=None):
    """The tables with each source's rows restricted to ``low <= time`` (``< high``)."""
    m, out = ctx.checked.model, {}
    for src in m.sources.values():
        if not src.time or src.table == m.entity.table:
            continue
        table = out.get(src.table, ctx.tables[src.table])
        keep = table[src.time] >= ibis.literal(low, type=dt.timestamp)
        if high is not None:
            keep &= table[src.time] < ibis.literal(high, type=dt.timestamp)
        out[src.table] = table.filter(keep)
    return out


def _number(column):
    if column.type().is_boolean():  # PostgreSQL casts no boolean to bigint, and reads 1.0 as numeric
        return ibis.ifelse(column, 1, 0).cast(dt.float64)
    return column.cast(dt.float64)


def _sums(prefix: str, x):
    return {f"{prefix}_n": x.count(), f"{prefix}_sum": x.sum(), f"{prefix}_sq": (x * x).sum()}


def analysis_table(ctx, name: str):
    """One row per variant: ``variant``, ``n`` and count/sum/sum of squares of the metric (``post``),
    and with a pre-period of the pre-period metric (``pre``) and of the change (``diff``)."""
    e = checked_entry(ctx, name)
    a = assignment(ctx, name)
    post = ctx.entity_values({"post": f"{name}.metric"}, tables=_between(ctx, e.start_time))
    j = a.left_join(post, a[ctx.key] == post[ctx.key])
    if e.pre_seconds:
        begin = e.start_time - timedelta(seconds=e.pre_seconds)
        pre = ctx.entity_values({"pre": f"{name}.metric"}, now=e.start_time,
                                tables=_between(ctx, begin, e.start_time))
        j = j.left_join(pre, a[ctx.key] == pre[ctx.key]).select("variant", "post", "pre")
    else:
        j = j.select("variant", "post")
    x = _number(j.post)
    metrics = {"n": j.count(), **_sums("post", x)}
    if e.pre_seconds:
        y = _number(j.pre)
        both = x.notnull() & y.notnull()
        metrics.update(_sums("pre", y))
        metrics.update(_sums("diff", ibis.ifelse(both, x - y, ibis.null(dt.float64))))
    return j.group_by("variant").aggregate(**metrics)


@dataclass
class VariantResult:
    name: str
    weight: int
    size: int
    metric: Summary
    ci: tuple[float | None, float | None]
    pre: Summary | None = None
    change: Summary | None = None
    comparison: Comparison | None = None  # against the control (None for the control)
    did: Comparison | None = None


@dataclass
class ExperimentReport:
    spec: str
    name: str
    as_of: object
    start: object
    proportion: bool
    control: str
    variants: list[VariantResult]
    srm: SampleRatio
    pre_period: str | None = None
    notes: list[str] = field(default_factory=list)


def _summary(row, prefix):
    if row is None:
        return Summary(0, 0.0, 0.0)
    return Summary(int(row[f"{prefix}_n"] or 0), float(row[f"{prefix}_sum"] or 0.0), float(row[f"{prefix}_sq"] or 0.0))


def compute_experiment(spec, con, name: str, *, as_of=None, params=None) -> ExperimentReport:
    """Run the analysis query and derive every statistic from its aggregates."""
    from .config import EXPERIMENTS

    ctx = spec.section_context(con, EXPERIMENTS, as_of=as_of, params=params)
    if name not in ctx.config:
        from segrules.plugin import SpecError
        raise SpecError(f"the experiments: section has no experiment {name!r} (it has: "
                        f"{', '.join(ctx.config)})", code="COH104")
    e = ctx.config[name]
    rows = {r["variant"]: r for r in analysis_table(ctx, name).to_pyarrow().to_pylist() if r["variant"] is not None}
    node = ctx.checked.source_expressions[(EXPERIMENTS, f"{name}.metric")][1]
    proportion = ctx.checked.type_of(node).is_boolean()
    control = e.split.baseline
    results = []
    for group, weight in e.split.groups.items():
        row = rows.get(group)
        post = _summary(row, "post")
        r = VariantResult(group, weight, int(row["n"]) if row else 0, post, interval(post, proportion))
        if e.pre_seconds:
            r.pre, r.change = _summary(row, "pre"), _summary(row, "diff")
        results.append(r)
    base = next(r for r in results if r.name == control)
    for r in results:
        if r is base:
            continue
        r.comparison = (two_proportions if proportion else welch)(r.metric, base.metric)
        if e.pre_seconds:
            r.did = welch(r.change, base.change)
    srm = sample_ratio({r.name: r.size for r in results}, dict(e.split.groups))
    return ExperimentReport(spec.name, name, ctx.now, e.start_time, proportion, control, results, srm,
                            e.pre_period)
