"""AST -> canonical expression text, with only the parentheses the grammar needs.

``parse_expr(unparse(e)) == e`` for every AST the parser can produce (the hypothesis test
in ``tests/test_lang_roundtrip.py``).  What the grammar cannot say is written as closely as
possible or refused with ``ValueError``:

* a negative ``Number`` is written ``-5`` and reads back as ``Neg(Number(5))``;
* a ``Decimal`` without fractional digits is written ``5.0`` (it reads back equal, as a
  Decimal);
* strings holding a NUL or a lone surrogate (SR226), non-identifiers as names, a ``Call`` named like an aggregate or ``date``/``timestamp``/
  ``segment``, empty ``in`` lists and zoned timestamps raise ``ValueError``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Callable, Sequence, TypeAlias

from . import ast
from .calls import RESERVED_CALL_NAMES
from .lexicon import (
    encode_date,
    encode_duration,
    encode_number,
    encode_string,
    encode_timestamp,
    is_identifier,
    is_param_name,
)

# binding strength, loosest first; mirrors the rule nesting in grammar.lark
OR, AND, NOT, PREDICATE, SUM, PRODUCT, UNARY, ATOM = range(1, 9)
Rendered: TypeAlias = tuple[str, int]  # text, binding strength
_ARITH_PREC = {"+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT, "%": PRODUCT}


def unparse(expr: ast.Expr) -> str:
    """Canonical text for ``expr``: single-quoted strings, one space around operators."""
    return _Unparser().expr(expr, 0)


class _Unparser:
    """``visit_<Node>`` returns ``(text, precedence)``; :meth:`expr` adds parentheses."""

    def expr(self, node: ast.Expr, min_prec: int) -> str:
        text, prec = self.visit(node)
        return f"({text})" if prec < min_prec else text

    def visit(self, node: ast.Node) -> tuple[str, int]:
        method: Callable[[ast.Node], Rendered] | None = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise TypeError(f"cannot unparse {type(node).__name__}: not an expression node")
        return method(node)

    # --- literals -----------------------------------------------------------------------
    def visit_Number(self, node: ast.Number) -> Rendered:
        if _is_negative(node.value):
            return "-" + encode_number(-node.value), UNARY
        return encode_number(node.value), ATOM

    def visit_String(self, node: ast.String) -> Rendered:
        return encode_string(node.value), ATOM

    def visit_Boolean(self, node: ast.Boolean) -> Rendered:
        return ("true" if node.value else "false"), ATOM

    def visit_Null(self, node: ast.Null) -> Rendered:
        return "null", ATOM

    def visit_DateLit(self, node: ast.DateLit) -> Rendered:
        return encode_date(node.value), ATOM

    def visit_TimestampLit(self, node: ast.TimestampLit) -> Rendered:
        return encode_timestamp(node.value), ATOM

    def visit_Duration(self, node: ast.Duration) -> Rendered:
        return encode_duration(node.amount, node.unit), ATOM

    def visit_Now(self, node: ast.Now) -> Rendered:
        return "now", ATOM

    def visit_Today(self, node: ast.Today) -> Rendered:
        return "today", ATOM

    def visit_Param(self, node: ast.Param) -> Rendered:
        if not is_param_name(node.name):
            raise ValueError(f"not a parameter name: {node.name!r}")
        return "$" + node.name, ATOM

    # --- names --------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> Rendered:
        return _identifier(node.name), ATOM

    def visit_Dotted(self, node: ast.Dotted) -> Rendered:
        return f"{_identifier(node.namespace)}.{_identifier(node.name)}", ATOM

    # --- operators ----------------------------------------------------------------------
    # A chain is one node: an operand that is itself a chain of the same word keeps its
    # parentheses, so ``(a or b) or c`` reads back as the same two nodes.
    def visit_Or(self, node: ast.Or) -> Rendered:
        return " or ".join(self.expr(o, AND) for o in self._operands(node)), OR

    def visit_And(self, node: ast.And) -> Rendered:
        return " and ".join(self.expr(o, NOT) for o in self._operands(node)), AND

    @staticmethod
    def _operands(node: ast.And | ast.Or) -> tuple[ast.Expr, ...]:
        if len(node.operands) < 2:
            raise ValueError(f"{type(node).__name__} needs at least two operands: {node!r}")
        return node.operands

    # A run of `not` (of unary minus) is written in one step, not one recursion per word: the
    # parser takes runs of any length (see limits.py).
    def visit_Not(self, node: ast.Not) -> Rendered:
        count = 0
        operand: ast.Expr = node
        while isinstance(operand, ast.Not):
            count, operand = count + 1, operand.operand
        return "not " * count + self.expr(operand, NOT), NOT

    def visit_Neg(self, node: ast.Neg) -> Rendered:
        count = 0
        operand: ast.Expr = node
        while isinstance(operand, ast.Neg):
            count, operand = count + 1, operand.operand
        text = self.expr(operand, UNARY)
        for _ in range(count):
            text = ("- " if text.startswith("-") else "-") + text
        return text, UNARY

    def visit_Compare(self, node: ast.Compare) -> Rendered:
        if node.op not in ast.COMPARE_OPS:
            raise ValueError(f"unknown comparison operator: {node.op!r}")
        return f"{self.expr(node.left, SUM)} {node.op} {self.expr(node.right, SUM)}", PREDICATE

    def visit_BinOp(self, node: ast.BinOp) -> Rendered:
        prec = _ARITH_PREC.get(node.op)
        if prec is None:
            raise ValueError(f"unknown arithmetic operator: {node.op!r}")
        return f"{self.expr(node.left, prec)} {node.op} {self.expr(node.right, prec + 1)}", prec

    def visit_InList(self, node: ast.InList) -> Rendered:
        if not node.items:
            raise ValueError("an 'in' list needs at least one item")
        keyword = "not in" if node.negated else "in"
        return f"{self.expr(node.operand, SUM)} {keyword} ({self._list(node.items)})", PREDICATE

    def visit_Between(self, node: ast.Between) -> Rendered:
        keyword = "not between" if node.negated else "between"
        text = f"{self.expr(node.operand, SUM)} {keyword} {self._range(node.low, node.high)}"
        return text, PREDICATE

    def visit_IsNull(self, node: ast.IsNull) -> Rendered:
        return f"{self.expr(node.operand, SUM)} is {'not null' if node.negated else 'null'}", PREDICATE

    # --- calls --------------------------------------------------------------------------
    def visit_Call(self, node: ast.Call) -> Rendered:
        if node.name in RESERVED_CALL_NAMES:
            raise ValueError(f"Call({node.name!r}) cannot be written: {node.name}(...) reads as another node")
        return f"{_identifier(node.name)}({self._list(node.args)})", ATOM

    def visit_SegmentRef(self, node: ast.SegmentRef) -> Rendered:
        return f"segment({encode_string(node.name)})", ATOM

    def visit_Aggregate(self, node: ast.Aggregate) -> Rendered:
        if node.func not in ast.AGGREGATE_FUNCS:
            raise ValueError(f"unknown aggregate function: {node.func!r}")
        parts = [_identifier(node.source) + ("" if node.column is None else "." + _identifier(node.column))]
        if node.where is not None:
            condition = self.expr(node.where, 0)
            # `where c between a and b` would read as a Between condition, and a condition that
            # opens with a parenthesis would read as the parenthesised where (see parser.py)
            if isinstance(node.window, ast.TimeRange) or condition.startswith("("):
                condition = f"({condition})"
            parts.append(f"where {condition}")
        parts.extend(self._window(node.window))
        return f"{node.func}({' '.join(parts)})", ATOM

    def visit_Sequence(self, node: ast.Sequence) -> Rendered:
        if node.func not in ast.SEQUENCE_FUNCS or len(node.steps) < 2:
            raise ValueError(f"not a sequence: {node!r}")
        steps = []
        for i, step in enumerate(node.steps):
            text = _identifier(step.source)
            if step.where is not None:
                condition = self.expr(step.where, 0)
                last = i == len(node.steps) - 1
                # as in aggregates: a parenthesised or `between`-followed condition keeps its parens
                if condition.startswith("(") or (last and isinstance(node.window, ast.TimeRange)
                                                 and node.convert is None):
                    condition = f"({condition})"
                text += f" where {condition}"
            steps.append(text)
        parts = [" then ".join(steps)]
        if node.convert is not None:
            parts.append(f"convert {self._duration_or_param(node.convert)}")
        parts.extend(self._window(node.window))
        return f"{node.func}({' '.join(parts)})", ATOM

    def _duration_or_param(self, node: ast.Duration | ast.Param) -> str:
        if isinstance(node, ast.Param):
            return self.visit_Param(node)[0]
        if isinstance(node, ast.Duration):
            return self.visit_Duration(node)[0]
        raise TypeError(f"not a duration: {node!r}")

    def _window(self, window: ast.Window | None) -> list[str]:
        if isinstance(window, ast.Within):
            ahead = "next " if window.ahead else ""
            return [f"within {ahead}{self._duration_or_param(window.duration)}"]
        if isinstance(window, ast.TimeRange):
            return [f"between {self._range(window.start, window.end)}"]
        if isinstance(window, ast.CalendarWindow):
            if window.period not in ast.CALENDAR_PERIODS or window.unit not in ast.CALENDAR_UNITS:
                raise ValueError(f"not a calendar window: {window!r}")
            return [f"within {window.period} {window.unit}"]
        if window is not None:
            raise TypeError(f"not a window: {window!r}")
        return []

    # --- helpers ------------------------------------------------------------------------
    def _list(self, items: Sequence[ast.Expr]) -> str:
        return ", ".join(self.expr(item, 0) for item in items)

    def _range(self, low: ast.Expr, high: ast.Expr) -> str:
        return f"{self.expr(low, SUM)} and {self.expr(high, SUM)}"


def _identifier(text: str) -> str:
    if not is_identifier(text):
        raise ValueError(f"not a valid name (identifier, not a keyword): {text!r}")
    return text


def _is_negative(value: int | Decimal) -> bool:
    if isinstance(value, Decimal):
        return value.is_finite() and value.is_signed()
    return isinstance(value, int) and not isinstance(value, bool) and value < 0
