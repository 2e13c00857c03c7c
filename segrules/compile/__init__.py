"""Compile stage: typed AST -> Ibis expressions, never SQL strings.

The names are imported when first used (PEP 562), so that the light modules of this package
(``derived``) can be imported without Ibis."""

from __future__ import annotations

__all__ = ["Plan", "compile_plan", "ExprCompiler"]


def __getattr__(name: str):
    if name == "Plan":
        from .plan import Plan as value
    elif name == "compile_plan":
        from .plan import compile_plan as value
    elif name == "ExprCompiler":
        from .to_ibis import ExprCompiler as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value
