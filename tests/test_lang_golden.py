"""Golden files: ``tests/golden/parse/*.txt`` hold an expression, its AST with spans, and its
canonical text.  Regenerate after an intended change with ``SEGRULES_UPDATE_GOLDEN=1``
and review the diff."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from segrules.lang import ast, parse_expr, unparse

GOLDEN = Path(__file__).parent / "golden" / "parse"
AST_MARK, UNPARSE_MARK = "==== ast", "==== unparse"
UPDATE = os.environ.get("SEGRULES_UPDATE_GOLDEN") == "1"


def dump(node: ast.Node, label: str = "", depth: int = 0) -> list[str]:
    """One line per node: class, span (line:col-line:col), scalar fields; children indented."""
    span = node.span
    where = f"{span.line}:{span.column}-{span.end_line}:{span.end_column}" if span else "?"
    scalars, children = [], []
    for f in dataclasses.fields(node):
        if f.name == "span":
            continue
        value = getattr(node, f.name)
        if isinstance(value, ast.Node):
            children.append((f.name, value))
        elif isinstance(value, tuple) and all(isinstance(v, ast.Node) for v in value):
            children.extend((f"{f.name}[{i}]", v) for i, v in enumerate(value))
        else:
            scalars.append(f"{f.name}={value!r}")
    head = " ".join([type(node).__name__, where, *scalars])
    lines = ["  " * depth + (f"{label}: " if label else "") + head]
    for name, child in children:
        lines.extend(dump(child, name, depth + 1))
    return lines


def render(source: str) -> str:
    expr = parse_expr(source)
    return "\n".join([source, AST_MARK, *dump(expr), UNPARSE_MARK, unparse(expr)]) + "\n"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.txt")), ids=lambda p: p.stem)
def test_golden_parse(path: Path):
    text = path.read_text(encoding="utf-8")
    source = text.split("\n" + AST_MARK + "\n")[0].rstrip("\n")
    expected = render(source)
    if UPDATE:
        path.write_text(expected, encoding="utf-8")
    assert text == expected
    assert parse_expr(unparse(parse_expr(source))) == parse_expr(source)
