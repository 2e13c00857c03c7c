"""Check stage: resolve names against table schemas, type-check, detect cycles.

The names are imported when first used (PEP 562): the type checker needs Ibis; parsing a
spec's expressions (``parse_expressions``, from :mod:`segrules.spec.expressions`) does not.
The entry point is ``segrules.check.analyze.analyze``: ``segrules.check.analyze`` is its module
(a package attribute that a lazy import cannot also make the function)."""

from __future__ import annotations

__all__ = ["CheckedSpec", "parse_expressions", "resolve_schemas"]


def __getattr__(name: str):
    if name == "CheckedSpec":
        from .analyze import CheckedSpec as value
    elif name == "resolve_schemas":
        from .schema import resolve_schemas as value
    elif name == "parse_expressions":
        from ..spec.expressions import parse_expressions as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value
