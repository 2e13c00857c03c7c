"""The built-in functions: one :class:`~segrules.plugin.FunctionDef` each, the same definition a
plugin's function has (signature, type rule and Ibis translation together).

The check stage calls :meth:`FunctionDef.check` (``check/typecheck.visit_Call``), the compile
stage the definition's ``compile`` (``compile/to_ibis.visit_Call``); a *population* function
(``percent_rank``, ``ntile``, ``top_n``) is a window over every evaluated entity, which the plan
computes as a column before anything filters its rows (``compile/ranks``).  A built-in uses the
general form: ``context`` (its compile gets the expression compiler) and, except where nulls are
its business (``coalesce``), ``null_in_null_out``.

This package only imports the language's AST, the type helpers and the definition, so both
stages can import it.  :data:`FUNCTIONS` is the one table, by name.
"""

from __future__ import annotations

from . import bucket, calendar, numbers, ranks, text, times
from .base import CallInfo, FunctionDef, Problem, arity, constant_int, int_constant, run_constant

__all__ = ["FUNCTIONS", "CallInfo", "FunctionDef", "Problem", "arity", "constant_int", "int_constant", "run_constant"]

FUNCTIONS: dict[str, FunctionDef] = {fn.name: fn for module in (text, numbers, times, ranks, bucket, calendar)
                                     for fn in module.FUNCTIONS}
"""Every built-in function, by name."""
