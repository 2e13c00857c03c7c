"""Cycle detection over feature and segment references."""

from __future__ import annotations

from ..diagnostics import Diagnostic
from ..lang import ast as a

Ref = tuple[str, str]  # ("feature" | "segment", name)


def find_cycles(deps: dict[Ref, list[tuple[Ref, a.Node]]]) -> list[Diagnostic]:
    """One SR501 diagnostic per cycle, at the reference that closes it."""
    diags: list[Diagnostic] = []
    state: dict[Ref, int] = {}  # 1 visiting, 2 done
    stack: list[Ref] = []
    reported: set[frozenset] = set()

    def visit(ref: Ref) -> None:
        state[ref] = 1
        stack.append(ref)
        for target, node in deps.get(ref, ()):
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    path = " -> ".join(f"{kind} {name}" for kind, name in cycle)
                    diags.append(Diagnostic("SR501", f"reference cycle: {path}", node.span,
                                            hint="a segment or feature cannot depend on itself"))
            elif target not in state:
                visit(target)
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
