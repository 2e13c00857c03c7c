"""Built-in functions defined in one place each: signature, type rule and Ibis translation.

A :class:`Builtin` is to a built-in function what a plugin's ``FunctionDef`` is to a plugin
function.  The check stage calls :meth:`Builtin.check` (``check/typecheck.visit_Call``), the
compile stage :meth:`Builtin.compile` (``compile/to_ibis.visit_Call``); a *population* function
(``percent_rank``, ``ntile``, ``top_n``) is a window over every evaluated entity, which the plan
computes as a column before anything filters its rows (``compile/ranks``).

The older built-ins (``lower`` … ``start_of_year``) still live in the two parallel tables
``check/signatures.BUILTINS`` and ``compile/functions.SCALARS``; this package only imports the
language's AST and the type helpers, so both stages can import it.
"""

from .base import Builtin, CallInfo, Problem, arity, constant_int, int_constant, run_constant
from . import bucket, calendar, ranks

FUNCTIONS: dict[str, Builtin] = {fn.name: fn for module in (ranks, bucket, calendar) for fn in module.FUNCTIONS}
"""The built-ins defined here, by name."""

__all__ = ["Builtin", "CallInfo", "Problem", "FUNCTIONS", "arity", "constant_int", "int_constant", "run_constant"]
