"""Functions of the expression language: one :class:`FunctionDef` per function, built-in or a
plugin's, holding its signature, its type rule and its translation to Ibis together.

The check stage calls :meth:`FunctionDef.check` (``check/typecheck.visit_Call``), the compile
stage its ``compile`` (``compile/to_ibis.visit_Call``); the built-ins are the
entries of ``segrules.builtin.FUNCTIONS``, a plugin's come from ``register_functions``.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Protocol, Sequence

from ..types import DataType, parse_type
from .categories import TYPE_CATEGORIES  # argument type categories (or a concrete type string)

if TYPE_CHECKING:  # Ibis and the AST are loaded by the stages that call these, not by plugins at start-up
    import ibis.expr.datatypes as dt
    import ibis.expr.types as ir

    from ..lang import ast as a


@dataclass(frozen=True)
class Problem:
    """Why a call does not type-check: a diagnostic for ``node`` (the call when None)."""

    code: str
    message: str
    node: a.Node | None = None
    hint: str | None = None


@dataclass(frozen=True)
class CallInfo:
    """What a type rule sees: the call, its argument types (segrules types,
    :class:`~segrules.types.DataType`; none of them None) and the spec's parameter values (a
    constant argument may be ``$name``)."""

    node: a.Call
    types: list[DataType]
    params: Mapping[str, object]

    @property
    def args(self) -> tuple[a.Node, ...]:
        return self.node.args

    def problem(self, message: str, hint: str | None = None) -> Problem:
        """The SR404 convention: ``fn(): message`` at the call."""
        return Problem("SR404", f"{self.node.name}(): {message}", None, hint)


class CallContext(Protocol):
    """What a ``context`` function's compile gets first: the expression compiler."""

    now: ir.TimestampValue  # the evaluation time
    dialect: str | None  # the target backend's name
    params: Mapping[str, object]  # the run's parameter values
    type_of_call: dt.DataType  # the checked type of the call being compiled, as an Ibis type

    def lit(self, value: object, dtype: dt.DataType) -> ir.Value:
        """``value`` as an Ibis literal of ``dtype``."""


TypeRule = Callable[[CallInfo], "DataType | Problem"]
ResultType = Callable[[list[DataType]], "DataType | str"]


def _missing_compile(*args: Any) -> Any:
    raise TypeError("a FunctionDef needs a compile")  # never called: __post_init__ rejects it first


def _signature(name: str, args: Sequence[str], returns: object) -> str:
    shown = [f"x{i + 1}: {cat}" for i, cat in enumerate(args) if cat != "..."]
    if args and args[-1] == "...":
        shown.append("...")
    result = returns if isinstance(returns, str) else "depends on the arguments"
    return f"{name}({', '.join(shown)}) → {result}"


@dataclass(frozen=True)
class FunctionDef:
    """A function usable in expressions, e.g. ``domain(email)``: built-in or a plugin's.

    The simple form, a plugin's usual: ``args``, one type category per argument (see
    ``TYPE_CATEGORIES``) or a type string (``int64``, ``decimal(12,2)``), a final ``"..."``
    repeating the argument before it; ``returns``, a type string or a callable mapping the
    argument types (segrules :class:`~segrules.types.DataType` values, not Ibis's: checking
    loads no Ibis) to the result type (or to a message saying what is wrong: SR404);
    ``compile``, called with the compiled Ibis expressions of the arguments (a bare ``null``
    argument as a null of its category's type), returning an Ibis expression built with Ibis
    (never SQL text).

    The general form, the built-ins' (keyword-only fields): ``rule(info)`` gets a
    :class:`CallInfo` and returns the result type or a :class:`Problem` (it replaces ``args``
    and ``returns``); with ``context``, ``compile(ctx, args, nodes)`` gets the expression compiler
    (:class:`CallContext`), the compiled arguments (a bare ``null`` one as a null of the call's
    type) and the argument nodes; ``null_in_null_out``: a bare ``null`` argument makes the call
    null without calling ``compile``.  ``population``: the value depends on every evaluated
    entity (``percent_rank``): ``compile(value, n, key, nullable)`` gets the compiled first
    argument, the constant second one (or None), the entity key column and whether the value can
    be null, and returns a window expression over the whole entity table (``compile/ranks``).
    ``signature``: the call as the docs show it (derived from ``args`` and ``returns`` when empty).
    """

    name: str
    args: tuple[str, ...] = ()
    returns: str | ResultType | None = None
    compile: Callable[..., Any] = _missing_compile
    doc: str = ""
    _: KW_ONLY
    rule: TypeRule | None = None
    context: bool = False
    null_in_null_out: bool = False
    population: bool = False
    signature: str = ""

    def __post_init__(self) -> None:
        if self.compile is _missing_compile:
            raise TypeError(f"FunctionDef {self.name!r}: compile is required")
        if self.rule is None and self.returns is None:
            raise TypeError(f"FunctionDef {self.name!r}: give returns (with args) or a type rule")
        if not self.signature:
            object.__setattr__(self, "signature", _signature(self.name, self.args, self.returns))

    def categories(self, n: int) -> list[str]:
        """The argument categories of a call with ``n`` arguments (``"..."`` expanded)."""
        cats = list(self.args)
        if cats and cats[-1] == "...":
            cats = cats[:-1] + [cats[-2]] * max(0, n - len(cats) + 1)
        return cats

    def check(self, info: CallInfo) -> DataType | Problem:
        """The type of the call ``info.node``, or the problem with it."""
        if self.rule is not None:
            return self.rule(info)
        problem = args_problem(self.args, info)
        if problem is not None:
            return problem
        result = self.returns(info.types) if callable(self.returns) else parse_type(str(self.returns))
        return info.problem(result) if isinstance(result, str) else result


def args_problem(args: tuple[str, ...], info: CallInfo) -> Problem | None:
    """SR404 when the call's arguments do not fit ``args`` (argument categories, a final ``"..."``
    repeating the one before): the wrong number, or an argument of the wrong type (a bare ``null``
    fits every category).  The simple form's signature check; a type rule may call it too."""
    from ..check.types import describe, matches_category  # the check stage imports this module

    types = info.types
    cats = list(args)
    variadic = bool(cats) and cats[-1] == "..."
    if variadic:
        cats = cats[:-1] + [cats[-2]] * max(0, len(types) - len(cats) + 1)
    if len(cats) != len(types):
        fixed = len(args) - 1 if variadic else len(args)
        want = f"at least {fixed}" if variadic else str(fixed)
        return info.problem(f"takes {want} argument{'s' * (fixed != 1)}, got {len(types)}")
    for i, (t, cat) in enumerate(zip(types, cats)):
        if not matches_category(t, cat):
            return info.problem(f"argument {i + 1} must be {cat}, got {describe(t)}")
    return None
