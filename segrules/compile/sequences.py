"""``sequence(...)`` and ``time_between(...)`` in the plan: one table per sequence, keyed by the
entity key, left-joined to the entity table like an aggregation.

The semantics (docs/language.md): an attempt starts at any step-1 row; step j+1 is a row of its
step strictly later than the row used for step j; with ``convert D`` every step is at most D after
the attempt's step-1 time; the window limits the rows of every step.  ``sequence`` is the furthest
step reached over all attempts (0 without a step-1 row); ``time_between`` the shortest time from
step 1 to the last step over the attempts that reach it.

How it is computed, without a join per step:

1. The rows of every step's source that match some step (and the window), as ``(key, t, s1..sk)``
   with ``sj`` "this row matches step j", are grouped by ``(key, t)``: rows at the same time
   are one point, since a later step needs a strictly later time.
2. For one attempt the greedy choice is best: taking the earliest matching point after the
   previous step reaches every step as early as possible (an exchange argument), so the deadline
   ``t1 + D`` is met whenever any choice meets it.  Let ``C[j][m](p)`` be the time at which step m
   is reached greedily when step j is at point p.  Then ``C[m-1][m](p)`` is the first point after
   p matching step m, and ``C[j][m](p)`` is ``C[j+1][m]`` of the first point after p matching
   step j+1.  ``C[j+1][m]`` never decreases with time, so "of the first point after p" is the
   MIN over all later points: one window function ``MIN(...) OVER (PARTITION BY key ORDER BY t
   ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)`` per (j, m), in k-1 nested levels.
3. Each step-1 point is an attempt: it reaches step m when ``C[1][m]`` exists (and is at most
   ``t + D``); the entity's value is the best attempt (MAX of steps reached, MIN of the time to
   the last step).
"""

from __future__ import annotations

import functools
import operator
from typing import Any

import ibis
import ibis.expr.datatypes as dt

from ..lang import ast as a
from .namespaces import point_in_time
from .to_ibis import ExprCompiler, duration
from .windows import resolve_duration, window_condition

KEY, TIME, VALUE = "_k", "_t", "_v"


def build_sequence(node: a.Sequence, checked, tables: dict[str, Any], now, params: dict[str, Any]):
    """The table ``(_k, _v)`` of ``node``'s value per entity that has a step-1 row: steps reached
    (int64) for ``sequence``, microseconds from step 1 to the last step for ``time_between``
    (null when no attempt reaches it)."""
    k = len(node.steps)
    points = _points(node, checked, tables, now, params)
    frame = ibis.window(group_by=KEY, order_by=TIME, rows=(1, None))
    targets = range(2, k + 1) if node.func == "sequence" else (k,)
    chain: dict[tuple[int, int], str] = {}
    for level in range(1, k):
        columns = {}
        for m in targets:
            j = m - level
            if j < 1:
                continue
            then = points[TIME] if level == 1 else points[chain[(j + 1, m)]]
            name = chain[(j, m)] = f"_c{j}_{m}"
            columns[name] = ibis.ifelse(points[f"_s{j + 1}"], then, ibis.null(dt.timestamp)).min().over(frame)
        points = points.mutate(**columns)
    attempts = points.filter(points["_s1"])
    deadline = None
    if node.convert is not None:
        span = resolve_duration(node.convert, params)
        deadline = attempts[TIME] + ibis.interval(seconds=span.seconds)

    def reached(m: int):
        at = attempts[chain[(1, m)]]
        return at.notnull() if deadline is None else at.notnull() & (at <= deadline)

    if node.func == "sequence":
        steps = ibis.literal(1, type=dt.int64)
        for m in targets:
            steps = steps + ibis.ifelse(reached(m), 1, 0).cast(dt.int64)
        per_attempt = attempts.select(KEY, **{VALUE: steps})
        return per_attempt.group_by(KEY).aggregate(**{VALUE: per_attempt[VALUE].max()})
    last = attempts[chain[(1, k)]]
    elapsed = ibis.ifelse(reached(k), last.delta(attempts[TIME], unit="microsecond"), ibis.null(dt.int64))
    per_attempt = attempts.select(KEY, **{VALUE: elapsed.cast(dt.int64)})
    return per_attempt.group_by(KEY).aggregate(**{VALUE: per_attempt[VALUE].min()})


def _points(node: a.Sequence, checked, tables, now, params):
    """Step 1 of the module docstring: ``(_k, _t, _s1.._sk)``, one row per entity and time."""
    m = checked.model
    key_type = checked.schemas[m.entity.table][m.entity.key]
    within = node.window.duration if isinstance(node.window, a.Within) else None
    parts = []
    for source in dict.fromkeys(step.source for step in node.steps):
        src = m.sources[source]
        table = point_in_time(tables[src.table], src.time, now,
                              None if within is None else duration(resolve_duration(within, params)))
        compiler = ExprCompiler(checked, table, now, params, source=source)
        flags, conds, every_row = {}, [], False
        for j, step in enumerate(node.steps, start=1):
            if step.source != source:
                flags[f"_s{j}"] = ibis.literal(False)
            elif step.where is None:
                flags[f"_s{j}"] = ibis.literal(True)
                every_row = True
            else:
                cond = compiler.typed(step.where, dt.boolean)
                flags[f"_s{j}"] = cond.fill_null(False)
                conds.append(cond)
        keep = []
        if within is None and node.window is not None:
            keep.append(window_condition(node.window, compiler, table[src.time]))
        if not every_row:  # only the rows that match some step
            keep.append(functools.reduce(operator.or_, conds))
        rows = table.filter(*keep) if keep else table
        parts.append(rows.select(**{KEY: table[src.key].cast(key_type), TIME: table[src.time].cast(dt.timestamp)},
                                 **flags))
    union = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return union.group_by([KEY, TIME]).aggregate(
        **{f"_s{j}": union[f"_s{j}"].any() for j in range(1, len(node.steps) + 1)})
