"""Compile stage: typed AST -> Ibis expressions, never SQL strings."""

from .plan import Plan, compile_plan
from .to_ibis import ExprCompiler

__all__ = ["Plan", "compile_plan", "ExprCompiler"]
