"""Aggregates in the concrete mode: computed exactly from a bounded list of symbolic rows, so a
model of the formula is a data set (entity row, source rows, ``now``) that can be inserted."""

from __future__ import annotations

import z3

from segrules.plugin import ast as a

from .env import Env
from .smt import FALSE, Unsupported, Val, fresh, kind_of, numeric


def aggregate_over_rows(env: Env, node: a.Aggregate) -> Val:
    rows = env.rows.get(node.source, [])
    counted = [env.qualifies(row, node) for row in rows]
    func = node.func
    label = env.label(node)
    if func == "count":
        return Val(_sum([z3.If(q, 1, 0) for q in counted], z3.IntVal(0)), FALSE, "int")
    kind = kind_of(env.checked.type_of(node))
    values = [row.column(node.column) for row in rows]
    if func == "count_distinct":
        firsts = []
        for i, (q, x) in enumerate(zip(counted, values)):
            earlier = [z3.And(counted[j], values[j].v == x.v) for j in range(i)]
            firsts.append(z3.If(z3.And(q, z3.Not(z3.Or(earlier)) if earlier else q), 1, 0))
        return Val(_sum(firsts, z3.IntVal(0)), FALSE, "int")
    if func == "sum":
        zero = z3.IntVal(0) if kind == "int" else z3.RealVal(0)
        return Val(_sum([z3.If(q, numeric(x, kind), zero) for q, x in zip(counted, values)], zero), FALSE, kind)
    nonempty = z3.Or(counted) if counted else FALSE
    result = Val(fresh(f"{label}@rows", kind), z3.Not(nonempty), kind)
    if func in ("min", "max"):
        if kind == "str" or kind == "bool":
            raise Unsupported(f"{func}() of a {kind} column", node)
        better = (lambda x, r: x >= r) if func == "min" else (lambda x, r: x <= r)
        env.facts += [z3.Implies(q, better(numeric(x, kind), result.v)) for q, x in zip(counted, values)]
        env.facts.append(z3.Implies(nonempty, z3.Or([z3.And(q, numeric(x, kind) == result.v)
                                                     for q, x in zip(counted, values)])))
    elif func == "avg":
        total = _sum([z3.If(q, numeric(x, "real"), z3.RealVal(0)) for q, x in zip(counted, values)], z3.RealVal(0))
        n = _sum([z3.If(q, 1, 0) for q in counted], z3.IntVal(0))
        env.facts.append(z3.Implies(nonempty, result.v * z3.ToReal(n) == total))
    elif func in ("first", "last"):
        times = [row.time() for row in rows]
        pick = []
        for i, (q, x, t) in enumerate(zip(counted, values, times)):
            beats = [z3.Implies(counted[j], t.v < times[j].v if func == "first" else t.v > times[j].v)
                     for j in range(len(rows)) if j != i]
            pick.append(z3.And([q] + beats))
        env.facts += [z3.Implies(p, (x.v if kind in ("str", "bool") else numeric(x, kind)) == result.v)
                      for p, x in zip(pick, values)]
    else:  # pragma: no cover - the type checker knows every aggregate
        raise Unsupported(f"{func}() is not modelled", node)
    return result


def _sum(terms, zero):
    return z3.Sum(terms) if terms else zero
