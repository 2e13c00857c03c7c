"""Type rules of ``sequence(...)`` and ``time_between(...)`` (see :class:`~segrules.lang.ast.Sequence`).

A sequence stands on the entity row, like an aggregate; each step's ``where`` is checked over its
own source's rows.  ``sequence`` is an int64, ``time_between`` a duration (compared with
durations: ``time_between(a then b) <= 1d``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import types as st
from ..types import DataType

from ..lang import ast as a
from .schema import did_you_mean
from .types import INTERVAL

if TYPE_CHECKING:
    from .typecheck import Scope, TypeChecker


def check_sequence(checker: TypeChecker, node: a.Sequence, scope: Scope) -> DataType | None:
    """The type of ``node``, or None after reporting what is wrong with it. Each step's ``where``
    stands on its source's rows, in a scope of the same class as ``scope`` (typecheck imports this
    module, so it imports typecheck only for type checking)."""
    on_rows = type(scope)
    env = checker.env
    if scope.source is not None:
        checker.error("SR430", f"{node.func}() cannot be used inside an aggregate", node,
                      "compute it on the entity row, e.g. in a feature")
        return None
    ok = True
    for i, step in enumerate(node.steps, start=1):
        if step.source not in env.sources:
            checker.error("SR302", f"unknown source {step.source!r} in step {i} of {node.func}()", step,
                          did_you_mean(step.source, env.sources) or (
                              f"sources: {', '.join(env.sources)}" if env.sources else "declare it under sources:"))
            ok = False
            continue
        if env.source_time[step.source] is None:
            checker.error("SR408", f"source {step.source!r} has no time column, needed by step {i} of "
                          f"{node.func}()", step, f"add time: to sources.{step.source}")
            ok = False
        if step.where is None:
            continue
        entity_refs = [n for n in step.where.walk() if isinstance(n, a.Dotted) and n.namespace == "entity"
                       and "entity" not in env.sources]
        if entity_refs:
            checker.error("SR432", f"the steps of {node.func}() cannot read the entity's own values "
                          "(entity.NAME) yet", entity_refs[0],
                          "filter the rows on their own columns, or bound the whole sequence with "
                          "'between T1 and T2' / 'within'")
            ok = False
            continue
        ok = checker._boolean(step.where, on_rows(step.source), f"the 'where' of step {i}") is not None and ok
    if node.convert is not None:
        ok = checker.duration(node.convert, "convert") is not None and ok
        if isinstance(node.convert, a.Duration) and node.convert.amount == 0:
            checker.error("SR431", f"'convert 0{node.convert.unit}' leaves no time for step 2: every step "
                          "must be strictly later than the one before", node.convert)
            ok = False
    ok = checker.window(node.window) and ok
    if not ok:
        return None
    return st.int64 if node.func == "sequence" else INTERVAL
