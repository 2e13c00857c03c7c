"""Check stage: resolve names against table schemas, type-check, detect cycles."""

from .analyze import CheckedSpec, analyze, parse_expressions
from .schema import resolve_schemas

__all__ = ["CheckedSpec", "analyze", "parse_expressions", "resolve_schemas"]
