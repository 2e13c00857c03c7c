"""Field helpers for the pydantic models of plugin spec sections (``rfm:``, ``cohorts:``)."""

from __future__ import annotations

from ..errors import ExprSyntaxError
from ..lang import ast, parse_expr


def as_expression_text(value):
    """``amount: 1`` or ``where: true`` in YAML are expressions too: keep them as text (a
    ``mode="before"`` field validator)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return value


def positive_duration(value: str | None, example: str = "30d or 4w") -> str | None:
    """A field validator for an optional duration such as ``28d``: a ValueError otherwise."""
    if value is None:
        return value
    try:
        node = parse_expr(value)
    except ExprSyntaxError:
        node = None
    if not isinstance(node, ast.Duration) or node.seconds <= 0:
        raise ValueError(f"must be a duration such as {example}")
    return value


def duration_seconds(value: str | None) -> int | None:
    """The seconds of a duration checked by :func:`positive_duration` (None stays None)."""
    return parse_expr(value).seconds if value else None
