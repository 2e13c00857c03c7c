"""Aggregates in the abstract mode: one variable each, with its domain and the facts that relate
it to the other aggregates of its source.  Each fact holds for every data set, so a formula
that is unsatisfiable with them is unsatisfiable on any data.

For an aggregate ``A`` let ``P_A(row)`` be "the row counts for A" (where, window, and the column
not null).  ``nonempty_A`` says some row satisfies ``P_A``.  When ``P_A`` implies ``P_B`` for
every row (checked by z3 on a generic row), A's rows are a subset of B's:

* ``nonempty_A -> nonempty_B``; counts: ``count_A <= count_B``;
* same column: ``max_A <= max_B``, ``min_A >= min_B``, sums of a non-negative column
  ``sum_A <= sum_B``; equal filters give equal values;
* ``count(s within D)`` over B's where, and ``m = max(s.<time>)`` over the same where:
  ``nonempty_A <-> nonempty_m and m > now - D``.

And ``nonempty_A -> P_A(r_A)`` for a generic row ``r_A`` of A's own: some row qualifies, which
relates A to the entity's own values (``entity.NAME``) its filter reads.
"""

from __future__ import annotations

import z3

from segrules.plugin import ast as a

from .env import Env, Row, _num, _ts
from .smt import FALSE, Val, fresh, kind_of, within_seconds

COUNTS = ("count",)
IMPLICATION_TIMEOUT_MS = 500


class _Abstract:
    def __init__(self, node: a.Aggregate, value: Val, nonempty, predicate, row: Row):
        self.node, self.value, self.nonempty, self.predicate, self.row = node, value, nonempty, predicate, row


def abstract_aggregate(env: Env, node: a.Aggregate) -> Val:
    """The aggregate's variable, its domain, and facts relating it to earlier aggregates."""
    label = env.label(node)
    nonempty = z3.Bool(f"{label} has rows")
    func = node.func
    domain = env.source_domain(node.source, node.column) if node.column else None
    if func in ("count", "count_distinct"):
        value = Val(z3.Int(label), FALSE, "int")
        env.facts += [value.v >= 0, nonempty == (value.v > 0)]
    elif func == "sum":
        kind = kind_of(env.checked.type_of(node))
        value = Val(fresh(label, kind), FALSE, kind)
        env.facts.append(z3.Implies(z3.Not(nonempty), value.v == 0))
        if domain.minimum is not None and domain.minimum >= 0:
            env.facts.append(value.v >= 0)
            if domain.minimum > 0:
                env.facts.append(z3.Implies(nonempty, value.v > 0))
        if domain.maximum is not None and domain.maximum <= 0:
            env.facts.append(value.v <= 0)
    else:
        kind = kind_of(env.checked.type_of(node))
        value = Val(fresh(label, kind), z3.Not(nonempty), kind)
        facts = domain.value_facts(value.v, env.now, concrete=False) if func != "avg" else _bounds(domain, value)
        env.facts += [z3.Implies(nonempty, f) for f in facts]
        if func != "avg" and domain.time_column and isinstance(node.window, a.Within):
            env.facts.append(z3.Implies(nonempty, _ts(value) > env.now - within_seconds(env.params, node.window)))
    # A generic row of the source, one per aggregate, for the implication checks.
    row = Row(env, node.source, f"{node.source}[{label}]")
    this = _Abstract(node, value, nonempty, env.qualifies(row, node), row)
    # Rows exist only if one of them qualifies: the generic row stands for it.  This ties the
    # aggregate to the entity values its filter reads (`count(s where t > entity.x) > 0` needs
    # `entity.x` not null).
    env.facts.append(z3.Implies(nonempty, this.predicate))
    known = env.__dict__.setdefault("_abstract", [])
    for other in known:
        if other.node.source == node.source:
            _relate(env, this, other)
    known.append(this)
    return value


def _bounds(domain, value: Val) -> list:
    out = []
    if domain.minimum is not None:
        out.append(value.v >= _num(domain.minimum, value.kind))
    if domain.maximum is not None:
        out.append(value.v <= _num(domain.maximum, value.kind))
    return out


def _implies(env: Env, p: _Abstract, q: _Abstract) -> bool:
    """Every row that counts for ``p`` counts for ``q`` (valid for all data and every ``now``)."""
    solver = z3.Solver()
    solver.set("timeout", IMPLICATION_TIMEOUT_MS)
    same_row = [p.row.present == q.row.present]
    for column, x in p.row.columns.items():
        y = q.row.column(column)
        same_row += [x.null == y.null, z3.Implies(z3.Not(x.null), x.v == y.v)]
    # Only the two generic rows' facts matter: nothing else constrains their columns.
    solver.add(p.row.facts + q.row.facts + same_row + [p.predicate, z3.Not(q.predicate)])
    return solver.check() == z3.unsat


def _relate(env: Env, x: _Abstract, y: _Abstract) -> None:
    forward, backward = _implies(env, x, y), _implies(env, y, x)
    for sub, sup, holds in ((x, y, forward), (y, x, backward)):
        if not holds:
            continue
        env.facts.append(z3.Implies(sub.nonempty, sup.nonempty))
        if sub.node.func in COUNTS and sup.node.func in COUNTS:
            env.facts.append(sub.value.v <= sup.value.v)
        elif sub.node.func == "count_distinct" and sup.node.func in COUNTS:
            env.facts.append(sub.value.v <= sup.value.v)
        if sub.node.column != sup.node.column or sub.node.column is None or sub.value.kind in ("str", "bool"):
            continue  # strings: the database's collation, not code points, orders them
        both = z3.And(sub.nonempty, sup.nonempty)
        if sub.node.func == sup.node.func == "max":
            env.facts.append(z3.Implies(both, sub.value.v <= sup.value.v))
        elif sub.node.func == sup.node.func == "min":
            env.facts.append(z3.Implies(both, sub.value.v >= sup.value.v))
        elif sub.node.func == sup.node.func == "sum":
            domain = env.source_domain(sub.node.source, sub.node.column)
            if domain.minimum is not None and domain.minimum >= 0:
                env.facts.append(sub.value.v <= sup.value.v)
    if forward and backward and x.node.func == y.node.func and x.node.column == y.node.column:
        env.facts.append(x.value.v == y.value.v)  # the same rows: the same value
    _relate_window(env, x, y)
    _relate_window(env, y, x)


def _relate_window(env: Env, counted: _Abstract, latest: _Abstract) -> None:
    """``count(s where w within D)`` has rows iff ``max(s.<time> where w)`` is after ``now - D``."""
    time = env.model.sources[counted.node.source].time
    c, m = counted.node, latest.node
    if not (isinstance(c.window, a.Within) and m.func == "max" and m.column == time and m.window is None
            and m.where == c.where and c.column in (None, time)):
        return
    recent = _ts(latest.value) > env.now - within_seconds(env.params, c.window)
    env.facts.append(counted.nonempty == z3.And(latest.nonempty, recent))
