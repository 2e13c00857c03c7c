"""The limits of the expression language, checked when an expression is parsed.

Every later stage (the type checker, the compiler, Ibis and sqlglot's SQL generation, the
databases' own parsers) walks an expression recursively, one level of nesting at a time, so an
expression may nest at most :data:`MAX_EXPR_DEPTH` levels (SR250, at the node that goes too
deep).  A chain of ``and`` / ``or`` is one node and an ``in`` list one level, so neither counts
its length: ``a and b and ... and z`` is two levels deep however long.  The documented list
of limits (docs/language.md, "Limits") names this constant.
"""

from __future__ import annotations

from . import ast

MAX_EXPR_DEPTH = 100


def too_deep(root: ast.Node, limit: int = MAX_EXPR_DEPTH) -> ast.Node | None:
    """The outermost node of ``root`` that lies deeper than ``limit`` levels (``root`` is
    level 1), or None.  Iterative: it must not itself run out of stack."""
    stack: list[tuple[ast.Node, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return node
        stack.extend((child, depth + 1) for child in node.children())
    return None


def depth(root: ast.Node) -> int:
    """How many levels ``root`` nests (a leaf is 1), iteratively."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in node.children())
    return deepest
