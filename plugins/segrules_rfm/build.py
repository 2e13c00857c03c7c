"""The ``rfm`` namespace, built with Ibis in the database: one row per entity.

Definitions (docs/plugins/rfm.md has them with examples):

* qualifying transaction: a row of ``source`` with a key, a time at or before ``now``, within
  ``window`` (``now - window < time``) when set, and ``where`` true (null counts as false);
* ``recency_days``: whole days from the last qualifying transaction to ``now`` (floored);
* ``frequency``: number of qualifying transactions (0 without any);
* ``monetary``: sum of ``amount`` over them; null amounts count as 0, floating-point amounts are
  summed exactly as decimals with 6 places, so the result does not depend on the row order;
* quantile score of a value v among the N entities with a qualifying transaction:
  ``1 + floor(bins * below(v) / N)`` where ``below(v)`` is how many of them have a strictly worse
  value (lower frequency or monetary, more recency days). Equal values get equal scores;
* threshold score: 1 + the number of cut points the value exceeds (recency: bins minus that).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

from segrules.plugin import PluginError

from .checks import label_map_of, section_diagnostics

_US_PER_DAY = 86_400_000_000


def _as_timestamp(col):
    return col.cast(dt.timestamp) if col.type().is_date() else col


def _exact_sum(amount):
    """Sum without order-dependent rounding: floats as decimals with 6 places."""
    if amount.type().is_floating():
        amount = amount.cast(dt.Decimal(38, 6))
    return amount.sum().cast(dt.float64)


def per_entity(ctx):
    """Buyers only: ``k``, ``recency_days``, ``frequency``, ``monetary`` from the qualifying rows."""
    cfg = ctx.config
    rows = ctx.source(cfg.source)
    key, time = ctx.source_key(cfg.source), _as_timestamp(rows[ctx.source_time(cfg.source)])
    keep = rows[key].notnull()
    if cfg.window_seconds:
        keep &= time > ctx.now_literal - ibis.interval(seconds=cfg.window_seconds)
    if cfg.where:
        keep &= ctx.expression("where", rows)  # null: the filter drops the row (and scans stay pushable)
    rows = rows.filter(keep)
    time = _as_timestamp(rows[ctx.source_time(cfg.source)])
    per = rows.group_by(k=rows[key]).aggregate(
        last=time.max(), frequency=rows.count(), monetary=_exact_sum(ctx.expression("amount", rows)))
    elapsed = ctx.now_literal.delta(per["last"], unit="microsecond")
    return per.select("k", recency_days=(elapsed / _US_PER_DAY).floor().cast(dt.int64),
                      frequency=per.frequency.cast(dt.int64), monetary=per.monetary.fill_null(0.0))


BUCKETS = 64  # ranges of values whose running counts are computed side by side (one task each at most)
# Spark runs a window without a partition in a single task: it gets the ranged form. Every other
# engine keeps the one window (DuckDB and PostgreSQL run it well and plan the ranged form ~10x
# slower on small data; warehouses are not measured, and Ibis has no approximate multi-quantile for
# some of them).
RANGED = frozenset({"pyspark"})


def score_cuts(per, column: str, bins: int, lower_is_better: bool = False, ranged: bool = True):
    """One row: for each score ``s`` in 2..bins, the worst value of ``column`` whose quantile score
    is at least ``s`` (null when no value reaches it). The score grows with the value (falls, for
    ``lower_is_better``), so a value scores ``1 + the number of cuts it reaches``.

    Per distinct value ``v`` (ties share one row, so they can only share a score): ``below``, how
    many entities have a strictly worse value, and ``n``, how many have a value. ``below`` is a
    running count over the distinct values in order: one window over them, or (``ranged``, for
    engines that would run that window in a single task) without it: the values are split into ``BUCKETS``
    consecutive ranges at approximate quantiles of the distinct set, then ``below`` = the entities
    in the ranges before the value's own (one row of totals: how many are at or under each bound)
    + the running count within its range (a window partitioned by range). The ranges only balance
    the work: any bounds give the same, exact, counts."""
    counts = per.group_by(v=per[column]).aggregate(c=per.count())
    if ranged:
        below, n, scored = _ranged_below(counts, lower_is_better)
    else:  # one window over the distinct values, in order
        order = ibis.desc(counts.v) if lower_is_better else ibis.asc(counts.v)
        below = counts.c.sum().over(ibis.window(order_by=order, rows=(None, 0))) - counts.c
        n, scored = counts.c.sum().over(ibis.window()), counts
    scored = scored.select("v", s=quantile_score(below, n, bins))
    worst = (lambda v, where: v.max(where=where)) if lower_is_better else (lambda v, where: v.min(where=where))
    return scored.aggregate(**{f"{column}_cut{s}": worst(scored.v, scored.s >= s) for s in range(2, bins + 1)})


def _ranged_below(counts, lower_is_better: bool):
    """``below`` and ``n`` per distinct value without a window over all of them, and their table."""
    counts = counts.mutate(w=-counts.v if lower_is_better else counts.v)  # ascending w: worse to better
    bounds = counts.aggregate(q=counts.w.approx_quantile([i / BUCKETS for i in range(1, BUCKETS)]))
    j = counts.cross_join(bounds)
    # range b holds the values above b of the bounds; so the ranges before b hold those <= q[b-1]
    ranged = j.select("v", "c", "w", b=count_true(j.w > j.q[i] for i in range(BUCKETS - 1)),
                      **{f"le{i}": ibis.ifelse(j.w <= j.q[i], j.c, 0) for i in range(BUCKETS - 1)})
    within = ranged.c.sum().over(ibis.window(group_by=ranged.b, order_by=ranged.w, rows=(None, 0))) - ranged.c
    sums = ranged.aggregate(n=ranged.c.sum(), **{f"le{i}": ranged[f"le{i}"].sum() for i in range(BUCKETS - 1)})
    k = ranged.mutate(within=within).cross_join(sums.rename(lambda name: f"t_{name}"))
    before = ibis.array([ibis.literal(0, type=dt.int64), *(k[f"t_le{i}"] for i in range(BUCKETS - 1))])[k.b]
    return before + k.within, k.t_n, k


def count_true(conditions):
    """How many of the Ibis booleans hold (an unknown one does not count)."""
    return sum((ibis.ifelse(c, 1, 0) for c in conditions), ibis.literal(0))


def cut_score(value, cuts, column: str, bins: int, lower_is_better: bool = False):
    reaches = (lambda cut: value <= cut) if lower_is_better else (lambda cut: value >= cut)
    return 1 + count_true(reaches(cuts[f"{column}_cut{s}"]) for s in range(2, bins + 1))


def quantile_score(below, n, bins: int):
    """``1 + floor(bins * below / n)``."""
    return ((below * bins) / n).floor().cast(dt.int64) + 1


def threshold_score(value, cuts, bins: int, lower_is_better: bool = False):
    exceeded = count_true(value > ibis.literal(float(c)) for c in cuts)
    return (bins - exceeded) if lower_is_better else (exceeded + 1)


def scores(per, cfg, ctx):
    if cfg.method == "thresholds":
        t = cfg.thresholds
        return per.mutate(r=threshold_score(per.recency_days, t.recency_days, cfg.bins, True),
                          f=threshold_score(per.frequency, t.frequency, cfg.bins),
                          m=threshold_score(per.monetary, t.monetary, cfg.bins))
    dims = {"r": ("recency_days", True), "f": ("frequency", False), "m": ("monetary", False)}
    ranged = ctx.dialect in RANGED
    cuts = {name: score_cuts(per, column, cfg.bins, lower, ranged) for name, (column, lower) in dims.items()}
    j = per.cross_join(cuts["r"]).cross_join(cuts["f"]).cross_join(cuts["m"])
    return j.select(*per.columns, **{name: cut_score(j[column], j, column, cfg.bins, lower).cast(dt.int64)
                                     for name, (column, lower) in dims.items()})


def build_rfm(ctx):
    """``NamespaceDef.build``: the key and every ``rfm.*`` value for each entity."""
    cfg, document = ctx.config, ctx.checked.document
    errors = [d for d in section_diagnostics(document, ctx.checked) if d.is_error]
    if errors:
        raise PluginError(diagnostics=errors)
    label_map, _ = label_map_of(document, cfg)
    scored = scores(per_entity(ctx), cfg, ctx)
    entity = ctx.entity.select(ctx.key)
    j = entity.left_join(scored, entity[ctx.key] == scored.k)
    score = j.r.cast(dt.string).concat(j.f.cast(dt.string), j.m.cast(dt.string))
    return j.select(ctx.key, recency_days=j.recency_days, frequency=j.frequency.fill_null(0),
                    monetary=j.monetary.fill_null(0.0), r=j.r, f=j.f, m=j.m, score=score,
                    label=label_map.expression(j.r, j.f, j.m, cfg.no_purchase_label))
