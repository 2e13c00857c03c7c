"""Check stage: resolve names against table schemas, type-check, detect cycles.

The names are imported when first used (PEP 562): the type checker needs Ibis; parsing a
spec's expressions (``parse_expressions``, from :mod:`segrules.spec.expressions`) does not.
The entry point is ``segrules.check.analyze.analyze``: ``segrules.check.analyze`` is its module
(a package attribute that a lazy import cannot also make the function)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:  # what the lazy names are, for mypy (a module __getattr__ alone makes them Any)
    from ..spec.expressions import parse_expressions
    from .analyze import CheckedSpec
    from .schema import resolve_schemas

__all__ = ["CheckedSpec", "parse_expressions", "resolve_schemas"]


LAZY = {"CheckedSpec": ".analyze", "resolve_schemas": ".schema", "parse_expressions": "..spec.expressions"}
__getattr__ = lazy_exports(__name__, globals(), LAZY)
