"""Compile stage: typed AST -> Ibis expressions, never SQL strings.

The names are imported when first used (PEP 562), so that the light modules of this package
(``derived``) can be imported without Ibis."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:  # what the lazy names are, for mypy (a module __getattr__ alone makes them Any)
    from .plan import Plan, compile_plan
    from .to_ibis import ExprCompiler

__all__ = ["Plan", "compile_plan", "ExprCompiler"]


LAZY = {"Plan": ".plan", "compile_plan": ".plan", "ExprCompiler": ".to_ibis"}
__getattr__ = lazy_exports(__name__, globals(), LAZY)
