"""Cycle detection over feature and segment references."""

from __future__ import annotations

from typing import TypeAlias, TypeGuard

from ..diagnostics import Diagnostic
from ..lang import ast as a

Ref: TypeAlias = tuple[str, str]  # ("feature" | "segment", name)

# The longest chain of references (a segment reading a segment reading a segment ...) a spec may
# hold: the plan compiles a long chain in layers (compile/plan.py), each a nested subquery, and
# SQL generation (sqlglot) and the databases' parsers recurse through them.  Tested at this
# length on DuckDB and PostgreSQL (tests/test_check_limits.py); docs/language.md, "Limits".
MAX_REFERENCE_DEPTH = 400


def _reads_entity(node: a.Node) -> TypeGuard[a.Dotted]:
    return isinstance(node, a.Dotted) and node.namespace == "entity"


def find_cycles(deps: dict[Ref, list[tuple[Ref, a.Node]]]) -> list[Diagnostic]:
    """One diagnostic per cycle, at the reference that closes it: SR319 when the cycle passes
    through an aggregate's ``entity.NAME`` (the aggregate would read a value computed from
    itself), else SR501.  Iterative (an explicit stack): a chain of references may be
    thousands long."""
    diags: list[Diagnostic] = []
    state: dict[Ref, int] = {}  # 1 visiting, 2 done
    stack: list[Ref] = []
    via: list[a.Node] = []  # via[i]: the reference from stack[i] to stack[i + 1]
    reported: set[frozenset[Ref]] = set()

    def report(target: Ref, node: a.Node) -> None:
        start = stack.index(target)
        cycle = stack[start:] + [target]
        key = frozenset(cycle)
        if key in reported:
            return
        reported.add(key)
        path = " -> ".join(f"{kind} {name}" for kind, name in cycle)
        entity = next((n for n in via[start:] + [node] if _reads_entity(n)), None)
        if entity is not None:
            diags.append(Diagnostic(
                "SR319", f"entity.{entity.name} is read inside an aggregate that {entity.name} "
                f"itself depends on: {path}", node.span,
                hint=f"{entity.name} cannot be computed before the aggregate that reads it; "
                "compute the value from other aggregates or columns"))
        else:
            diags.append(Diagnostic("SR501", f"reference cycle: {path}", node.span,
                                    hint="a segment or feature cannot depend on itself"))

    for root in deps:
        if root in state:
            continue
        state[root] = 1
        stack.append(root)
        edges = [iter(deps.get(root, ()))]
        while edges:
            step = next(edges[-1], None)
            if step is None:  # every reference of stack[-1] followed
                edges.pop()
                state[stack.pop()] = 2
                if via:
                    via.pop()
                continue
            target, node = step
            if state.get(target) == 1:
                report(target, node)
            elif target not in state:
                via.append(node)
                state[target] = 1
                stack.append(target)
                edges.append(iter(deps.get(target, ())))
    return diags


def topological_order(deps: dict[Ref, list[tuple[Ref, a.Node]]]) -> list[Ref]:
    """Dependencies before dependents (assumes no cycles); iterative, as :func:`find_cycles`."""
    order: list[Ref] = []
    seen: set[Ref] = set()
    for root in deps:
        if root in seen:
            continue
        seen.add(root)
        edges = [(root, iter(deps.get(root, ())))]
        while edges:
            ref, todo = edges[-1]
            step = next(todo, None)
            if step is None:
                edges.pop()
                order.append(ref)
            elif step[0] not in seen:
                seen.add(step[0])
                edges.append((step[0], iter(deps.get(step[0], ()))))
    return order


def too_long_chains(deps: dict[Ref, list[tuple[Ref, a.Node]]], order: list[Ref],
                    limit: int = MAX_REFERENCE_DEPTH) -> list[Diagnostic]:
    """SR502 for each feature or segment at the end of a chain of more than ``limit``
    references, at the reference that makes it too long (``order``: dependencies first; no
    cycles)."""
    length: dict[Ref, int] = {}
    diags: list[Diagnostic] = []
    for ref in order:
        links = [(length.get(target, 1), node) for target, node in deps.get(ref, ())]
        longest, node = max(links, key=lambda x: x[0], default=(0, None))
        length[ref] = longest + 1
        if length[ref] > limit and longest <= limit and node is not None:
            kind, name = ref
            diags.append(Diagnostic(
                "SR502", f"{kind} {name} ends a chain of {length[ref]} features and segments each reading "
                f"the next; at most {limit} are supported", node.span,
                hint="read an earlier link of the chain directly, or shorten the chain"))
    return diags
