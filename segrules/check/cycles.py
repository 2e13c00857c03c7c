"""Cycle detection over feature and segment references."""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..lang import ast as a

Ref = tuple[str, str]  # ("feature" | "segment", name)


def _reads_entity(node: a.Node) -> bool:
    return isinstance(node, a.Dotted) and node.namespace == "entity"


def find_cycles(deps: dict[Ref, list[tuple[Ref, a.Node]]]) -> list[Diagnostic]:
    """One diagnostic per cycle, at the reference that closes it: SR319 when the cycle passes
    through an aggregate's ``entity.NAME`` (the aggregate would read a value computed from
    itself), else SR501."""
    diags: list[Diagnostic] = []
    state: dict[Ref, int] = {}  # 1 visiting, 2 done
    stack: list[Ref] = []
    via: list[a.Node] = []  # via[i]: the reference from stack[i] to stack[i + 1]
    reported: set[frozenset] = set()

    def visit(ref: Ref) -> None:
        state[ref] = 1
        stack.append(ref)
        for target, node in deps.get(ref, ()):
            if state.get(target) == 1:
                start = stack.index(target)
                cycle = stack[start:] + [target]
                key = frozenset(cycle)
                if key not in reported:
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
            elif target not in state:
                via.append(node)
                visit(target)
                via.pop()
        stack.pop()
        state[ref] = 2

    for ref in deps:
        if ref not in state:
            visit(ref)
    return diags


def topological_order(deps: dict[Ref, list[tuple[Ref, a.Node]]]) -> list[Ref]:
    """Dependencies before dependents (assumes no cycles)."""
    order: list[Ref] = []
    seen: set[Ref] = set()

    def visit(ref: Ref) -> None:
        if ref in seen:
            return
        seen.add(ref)
        for target, _ in deps.get(ref, ()):
            visit(target)
        order.append(ref)

    for ref in deps:
        visit(ref)
    return order
