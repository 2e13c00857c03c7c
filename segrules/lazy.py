"""Names a package exports but imports when first used (PEP 562), so that importing the package
stays cheap: ``import segrules`` and ``segrules --version`` import neither Ibis nor Arrow.

A package lists its lazy names in a module-level ``LAZY`` dict literal (public name -> the module
that defines it, relative to the package) and sets ``__getattr__ = lazy_exports(...)``;
tests/import_graph.py reads ``LAZY`` as imports of those modules."""

from __future__ import annotations

from importlib import import_module
from typing import Any, Callable


def lazy_exports(package: str, namespace: dict[str, Any], exports: dict[str, str]) -> Callable[[str], Any]:
    """The module ``__getattr__`` of ``package``: ``exports[name]`` imported on first access, then
    kept in ``namespace`` (the package's globals) so it is looked up once."""
    def __getattr__(name: str) -> Any:
        where = exports.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = namespace[name] = getattr(import_module(where, package), name)
        return value
    return __getattr__
