"""Check stage: resolve names against table schemas, type-check, detect cycles.

The names are imported when first used (PEP 562): the type checker needs Ibis; parsing a
spec's expressions (``parse_expressions``, from :mod:`segrules.spec.expressions`) does not."""

from __future__ import annotations

__all__ = ["CheckedSpec", "analyze", "parse_expressions", "resolve_schemas"]


def __getattr__(name: str):
    # ``from .analyze import analyze``, not ``from . import analyze``: the function and its module
    # share the name (import the function from ``segrules.check.analyze`` to be sure which you get)
    if name == "CheckedSpec":
        from .analyze import CheckedSpec as value
    elif name == "analyze":
        from .analyze import analyze as value
    elif name == "resolve_schemas":
        from .schema import resolve_schemas as value
    elif name == "parse_expressions":
        from ..spec.expressions import parse_expressions as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value
