"""``sequence(...)`` and ``time_between(...)`` in the plan: one table per sequence, keyed by the
entity key, left-joined to the entity table like an aggregation.

The semantics (docs/language.md): an attempt starts at any step-1 row; step j+1 is a row of its
step strictly later than the row used for step j; with ``convert D`` every step is at most D after
the attempt's step-1 time; the window limits the rows of every step.  ``sequence`` is the furthest
step reached over all attempts (0 without a step-1 row); ``time_between`` the shortest time from
step 1 to the last step over the attempts that reach it.

Why each plan shape in :func:`build_sequence` is exact:

* For one attempt the greedy choice is best: taking the earliest matching row after the previous
  step reaches every step as early as possible (an exchange argument), so the deadline
  ``t1 + D`` is met whenever any choice meets it, and the time to the last step is the shortest.
* Without ``convert`` an earlier attempt can do all a later one can, so ``sequence`` is the greedy
  chain of the first step-1 row.
* The join chain (``convert``) tries every choice, the best among them included.
* For ``time_between`` without ``convert`` (step 1 of the windows shape): the rows of every step as
  ``(key, t, s1..sk)`` with ``sj`` "this row matches step j", grouped by ``(key, t)`` (rows at the
  same instant are one point: a later step needs a strictly later time).  Let ``C[j][m](p)`` be
  the time at which step m is reached greedily when step j is at point p.  ``C[m-1][m](p)`` is
  the first point after p matching step m, and ``C[j][m](p)`` is ``C[j+1][m]`` of the first point
  after p matching step j+1; ``C[j+1][m]`` never decreases with time, so that is the MIN over
  all later points: one window function ``MIN(...) OVER (PARTITION BY key ORDER BY t ROWS
  BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)`` per level.  Each step-1 point is an attempt.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.datatypes as dt

from ..check import CheckedSpec
from ..lang import ast as a
from .datatypes import to_ibis
from .namespaces import point_in_time
from .to_ibis import ExprCompiler, duration
from .windows import resolve_duration, window_condition

if TYPE_CHECKING:
    import ibis.expr.types as ir

KEY, TIME, VALUE = "_k", "_t", "_v"


def build_sequence(node: a.Sequence, checked: CheckedSpec, tables: dict[str, ir.Table], now: datetime | ir.TimestampValue,
                   params: dict[str, Any]) -> ir.Table:
    """The table ``(_k, _v)`` of ``node``'s value per entity that has a step-1 row: steps reached
    (int64) for ``sequence``, microseconds from step 1 to the last step for ``time_between``
    (null when no attempt reaches it).  Three plan shapes, each exact (the module docstring):

    * with ``convert D``: a join chain, every step-1 row joined to the rows of step 2 in its
      ``(t1, t1 + D]``, each of those to the rows of step 3 after it and by ``t1 + D``, and so on;
      the best chain per entity.  The work grows with the pairs inside the conversion window,
      which is what makes ``convert`` windows fast (measured in bench/run_behaviour.py);
    * ``sequence`` without ``convert``: the earliest attempt is the best one, so the greedy chain
      from the first step-1 row: ``t1 = min(step 1)``, ``t2 = min(step 2 after t1)``, ... one
      grouped aggregation per step;
    * ``time_between`` without ``convert``: every attempt's greedy chain with window functions.
    """
    steps = [_step_rows(node, i, checked, tables, now, params) for i in range(len(node.steps))]
    if node.convert is not None:
        return _join_chain(node, steps, resolve_duration(node.convert, params))
    if node.func == "sequence":
        return _earliest_chain(steps)
    return _greedy_windows(node, _points(node, steps))


def _join_chain(node: a.Sequence, steps: list[ir.Table], convert: a.Duration) -> ir.Table:
    """Every chain of rows whose steps are in order and at most ``convert`` after step 1."""
    first = steps[0]
    chain = first.select(**{KEY: first[KEY], "_t1": first[TIME]})
    deadline = chain["_t1"] + ibis.interval(seconds=convert.seconds)
    chain = chain.mutate(_end=deadline)
    for j, rows in enumerate(steps[1:], start=2):
        rows = rows.rename({f"_k{j}": KEY, f"_t{j}": TIME})
        chain = chain.left_join(rows, [chain[KEY] == rows[f"_k{j}"], rows[f"_t{j}"] > chain[f"_t{j - 1}"],
                                       rows[f"_t{j}"] <= chain["_end"]]).drop(f"_k{j}")
    if node.func == "sequence":
        reached = ibis.literal(1, type=dt.int64)
        for j in range(2, len(steps) + 1):
            reached = reached + chain[f"_t{j}"].notnull().ifelse(1, 0)
        return chain.group_by(KEY).aggregate(**{VALUE: reached.max()})
    last = chain[f"_t{len(steps)}"]
    return chain.group_by(KEY).aggregate(**{VALUE: last.delta(chain["_t1"], unit="microsecond").cast(dt.int64).min()})


def _earliest_chain(steps: list[ir.Table]) -> ir.Table:
    """``sequence`` without ``convert``: the greedy chain from the entity's first step-1 row."""
    first = steps[0]
    result = first.group_by(KEY).aggregate(_t1=first[TIME].min())
    previous = result
    for j, rows in enumerate(steps[1:], start=2):
        before = previous.select(**{"_pk": previous[KEY], "_pt": previous[f"_t{j - 1}"]})
        joined = rows.join(before, [rows[KEY] == before["_pk"], rows[TIME] > before["_pt"]])
        previous = joined.group_by(KEY).aggregate(**{f"_t{j}": joined[TIME].min()})
        result = result.left_join(previous.rename({f"_k{j}": KEY}), [(KEY, f"_k{j}")]).drop(f"_k{j}")
    reached = ibis.literal(1, type=dt.int64)
    for j in range(2, len(steps) + 1):
        reached = reached + result[f"_t{j}"].notnull().ifelse(1, 0)
    return result.select(KEY, **{VALUE: reached})


def _greedy_windows(node: a.Sequence, points: ir.Table) -> ir.Table:
    """Every attempt's greedy chain, ``C[j][m]`` of the module docstring as window functions."""
    k = len(node.steps)
    frame = ibis.window(group_by=KEY, order_by=TIME, rows=(1, None))
    targets = range(2, k + 1) if node.func == "sequence" else (k,)
    chain: dict[tuple[int, int], str] = {}
    for level in range(1, k):
        columns: dict[str, ir.Value] = {}
        for m in targets:
            j = m - level
            if j < 1:
                continue
            then = points[TIME] if level == 1 else points[chain[(j + 1, m)]]
            name = chain[(j, m)] = f"_c{j}_{m}"
            columns[name] = ibis.ifelse(points[f"_s{j + 1}"], then, ibis.null(dt.timestamp)).min().over(frame)
        points = points.mutate(**columns)
    attempts = points.filter(points["_s1"])
    if node.func == "sequence":
        steps = ibis.literal(1, type=dt.int64)
        for m in targets:
            steps = steps + attempts[chain[(1, m)]].notnull().ifelse(1, 0)
        per_attempt = attempts.select(KEY, **{VALUE: steps})
        return per_attempt.group_by(KEY).aggregate(**{VALUE: per_attempt[VALUE].max()})
    elapsed = attempts[chain[(1, k)]].delta(attempts[TIME], unit="microsecond").cast(dt.int64)
    per_attempt = attempts.select(KEY, **{VALUE: elapsed})
    return per_attempt.group_by(KEY).aggregate(**{VALUE: per_attempt[VALUE].min()})


def _step_rows(node: a.Sequence, i: int, checked: CheckedSpec, tables: dict[str, ir.Table], now: datetime | ir.TimestampValue,
               params: dict[str, Any]) -> ir.Table:
    """``(_k, _t)``: the rows of step ``i`` (0-based), as of ``now`` and in the window."""
    m = checked.model
    step = node.steps[i]
    src = m.sources[step.source]
    within = node.window.duration if isinstance(node.window, a.Within) else None
    table = point_in_time(tables[src.table], src.time, now,
                          None if within is None else duration(resolve_duration(within, params)))
    compiler = ExprCompiler(checked, table, now, params, source=step.source)
    keep: list[ir.BooleanValue] = []
    if within is None and node.window is not None:
        keep.append(window_condition(node.window, compiler, table[src.time]))
    if step.where is not None:
        keep.append(compiler.typed(step.where, dt.boolean))
    rows = table.filter(*keep) if keep else table
    key_type = to_ibis(checked.schemas[m.entity.table][m.entity.key])
    return rows.select(**{KEY: table[src.key].cast(key_type), TIME: table[src.time].cast(dt.timestamp)})


def _points(node: a.Sequence, steps: list[ir.Table]) -> ir.Table:
    """``(_k, _t, _s1.._sk)``, one row per entity and time: ``sj`` "a row of step j is at this
    time" (rows at the same instant are one point: a later step needs a strictly later time)."""
    k = len(steps)
    parts = [rows.select(KEY, TIME, **{f"_s{j}": ibis.literal(j == i) for j in range(1, k + 1)})
             for i, rows in enumerate(steps, start=1)]
    union = parts[0] if len(parts) == 1 else ibis.union(*parts, distinct=False)
    return union.group_by([KEY, TIME]).aggregate(**{f"_s{j}": union[f"_s{j}"].any() for j in range(1, k + 1)})
