"""Cohorts and retention, built with Ibis in the database.

Definitions (docs/plugins/cohorts.md has them with examples):

* an entity's **start** is its ``start:`` value as of now; entities without one, or with one after
  now, are in no cohort;
* its **cohort** is the calendar period (``grain``) of its start: :mod:`.periods`;
* an **activity** is a row of the activity source at or before now, with a key and a time, whose
  ``where`` holds (null counts as false); it falls in period ``k = period(time) - period(start)``
  of the entity; activities before the start period (``k < 0``) do not count;
* **classic** retention in period ``k``: at least one activity in period ``k``; **rolling**: at
  least one in period ``k`` or later (up to now);
* period ``k`` of a cohort is **observed** once it has ended: ``period(now) - cohort > k``. A
  period still running would show a share that is only low because it is not over; counts of
  periods not yet ended are null, and so is ``retained()`` for their entities.
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt

from .checks import checked_entry
from .periods import period_index, period_label


def starts(ctx, name: str):
    """``key``, ``cohort`` (the start's period index) for the entities with a start at or before now."""
    c = ctx.config[name]
    values = ctx.entity_values({"start": f"{name}.start"})
    start = values.start.cast(dt.timestamp) if values.start.type().is_date() else values.start
    values = values.filter(start.notnull() & (start <= ctx.now_literal))
    return values.select(ctx.key, cohort=period_index(values.start, c.grain.value))


_BITS = 62  # periods per bitmask: bits 0..61 of an int64


def _mask(k: int) -> str:
    """The bitmask column that holds period ``k``: ``m0`` for periods 0..61, ``m1`` for 62..123, ..."""
    return f"m{k // _BITS}"


def active_periods(ctx, name: str, starts_table):
    """Per entity with activity since its start period: ``_k`` and the columns the retention
    needs: ``m0 .. mN`` (classic: bit ``k % 62`` of ``m{k // 62}`` is set when active in period k)
    or ``last`` (the latest active period, rolling).

    Classic keeps one bitmask (BIT_OR of ``1 << k``) per 62 periods instead of one flag per
    period: one aggregate per entity instead of P + 1 (at 1M entities and 12 weekly periods the
    group-by took half the CPU time with thirteen MAX flags)."""
    c = ctx.config[name]
    rows = ctx.source(c.source)
    time = rows[ctx.source_time(c.source)]
    keep = rows[ctx.source_key(c.source)].notnull() & time.notnull()
    if c.where is not None:
        keep &= ctx.expression(f"{name}.where", rows)
    rows = rows.filter(keep)
    rows = rows.select(_k=rows[ctx.source_key(c.source)], _p=period_index(rows[ctx.source_time(c.source)],
                                                                           c.grain.value))
    j = rows.join(starts_table, rows._k == starts_table[ctx.key])
    j = j.select("_k", k=j._p - j.cohort)
    j = j.filter(j.k >= 0)
    if c.retention.value == "rolling":
        return j.group_by("_k").aggregate(last=j.k.max())
    j = j.filter(j.k <= c.periods)
    # A 64-bit 1 in the SQL: Ibis writes an int64 literal 1 as a bare 1 (a 32-bit INTEGER in
    # DuckDB and PostgreSQL, too narrow for the shift); a cast from int8 is written out.
    one = ibis.literal(1, type=dt.int8).cast(dt.int64)
    if c.periods < _BITS:
        return j.group_by("_k").aggregate(m0=(one << j.k.cast(dt.int32)).bit_or())
    bit = one << (j.k % _BITS).cast(dt.int32)
    return j.group_by("_k").aggregate(**{f"m{i}": ibis.ifelse(j.k // _BITS == i, bit, 0).bit_or()
                                         for i in range(c.periods // _BITS + 1)})


def per_entity(ctx, name: str):
    """Every entity with a cohort: ``key``, ``cohort`` and the activity columns (null when none)."""
    s = starts(ctx, name)
    active = active_periods(ctx, name, s)
    j = s.left_join(active, s[ctx.key] == active._k)
    return j.drop("_k")


def _retained_value(j, c, k: int):
    if c.retention.value == "rolling":
        return j["last"].fill_null(-1) >= k
    return (j[_mask(k)].fill_null(0) & ibis.literal(1 << (k % _BITS), type=dt.int64)) != 0


def build_cohort(ctx):
    """``EntityFunctionDef.build`` of ``cohort(name)``: the label of the entity's cohort period."""
    c = checked_entry(ctx, ctx.entry)
    s = starts(ctx, ctx.entry)
    return s.select(ctx.key, value=period_label(s.cohort, c.grain.value))


def build_retained(ctx):
    """``retained(name, k)``: active in period k (classic) or in k or later (rolling); null for an
    entity without a cohort or whose period k has not ended."""
    name, (k,) = ctx.entry, ctx.args
    c = checked_entry(ctx, name)
    j = per_entity(ctx, name)
    observed = period_index(ctx.now_literal, c.grain.value) - j.cohort > k  # now may be an ibis.param
    return j.select(ctx.key, value=ibis.ifelse(observed, _retained_value(j, c, k), ibis.null(dt.boolean)))


def matrix(ctx, name: str):
    """One row per cohort: ``cohort`` (index), ``label``, ``size`` and ``active0 .. activeP``: the
    retention matrix as one Ibis expression (one query)."""
    c = checked_entry(ctx, name)
    j = per_entity(ctx, name)
    counts = {f"active{k}": ibis.ifelse(_retained_value(j, c, k), 1, 0).sum() for k in range(c.periods + 1)}
    m = j.group_by("cohort").aggregate(size=j.count(), **counts)
    return m.select("cohort", label=period_label(m.cohort, c.grain.value), size=m.size,
                    **{f"active{k}": m[f"active{k}"] for k in range(c.periods + 1)}).order_by("cohort")
