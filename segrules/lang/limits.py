"""The limits of the expression language, checked when an expression is parsed.

Every later stage (the type checker, the compiler, Ibis and sqlglot's SQL generation, the
databases' own parsers) walks an expression recursively, one level of nesting at a time, so an
expression may nest at most :data:`MAX_EXPR_DEPTH` levels (SR250, at the node that goes too
deep).  A chain of ``and`` / ``or`` is one node and an ``in`` list one level, so neither counts
its length: ``a and b and ... and z`` is two levels deep however long.  A run of ``not`` (of
unary minus) counts as one level too: every stage handles a run in one step (the compiler
writes at most one NOT, since ``not not x`` is ``x``).  The documented list
of limits (docs/language.md, "Limits") names this constant.
"""

from __future__ import annotations

from typing import Iterator

from . import ast

MAX_EXPR_DEPTH = 100


def too_deep(root: ast.Node, limit: int = MAX_EXPR_DEPTH) -> ast.Node | None:
    """The outermost node of ``root`` that lies deeper than ``limit`` levels (``root`` is
    level 1), or None.  Iterative: it must not itself run out of stack."""
    stack: list[tuple[ast.Node, int]] = [(root, 1)]
    while stack:
        node, level = stack.pop()
        if level > limit:
            return node
        stack.extend(_below(node, level))
    return None


def _below(node: ast.Node, level: int) -> Iterator[tuple[ast.Node, int]]:
    """The children of ``node`` with their levels: the next node of a run of ``not`` (unary
    minus) is on the level of the run."""
    for child in node.children():
        same_run = isinstance(node, (ast.Not, ast.Neg)) and type(child) is type(node)
        yield child, level if same_run else level + 1


def depth(root: ast.Node) -> int:
    """How many levels ``root`` nests (a leaf is 1; a run of ``not`` or unary minus one level),
    iteratively."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend(_below(node, level))
    return deepest
