"""One generic call rule in the grammar, four kinds of node out of it.

``NAME "(" [args] [where cond] [within D | between a and b] ")"`` becomes

* :class:`~.ast.Aggregate` when the name is in ``AGGREGATE_FUNCS``;
* :class:`~.ast.SegmentRef` for ``segment('name')``;
* :class:`~.ast.DateLit` / :class:`~.ast.TimestampLit` for ``date('...')`` / ``timestamp('...')``;
* :class:`~.ast.Call` otherwise, where ``where`` and windows are errors.
"""

from __future__ import annotations

from typing import Callable, Mapping

from ..diagnostics import Span
from . import ast
from .lexicon import LiteralError, decode_date, decode_timestamp
from .syntax_errors import syntax_error

# name -> (decoder, node type, example); segment's "decoder" keeps the text as it is
LITERAL_CALLS: dict[str, tuple[Callable, type, str]] = {
    "date": (decode_date, ast.DateLit, "date('2024-01-31')"),
    "timestamp": (decode_timestamp, ast.TimestampLit, "timestamp('2024-01-31 10:00:00')"),
    "segment": (str, ast.SegmentRef, "segment('vip')"),
}
RESERVED_CALL_NAMES = frozenset(ast.AGGREGATE_FUNCS) | frozenset(LITERAL_CALLS)
"""Names a plain :class:`~.ast.Call` cannot have: the text would read back as another node."""


def build_call(
    name: str,
    args: list[ast.Expr],
    where: ast.Expr | None,
    window: ast.Window | None,
    span: Span,
    range_spans: Mapping[int, Span],
) -> ast.Expr:
    """The node for one call; ``range_spans`` maps ``id(Between)`` to its span from 'between' on."""
    if name in ast.AGGREGATE_FUNCS:
        return _aggregate(name, args, where, window, span, range_spans)
    if where is not None or window is not None:
        culprit = where if where is not None else window
        raise syntax_error("clause_outside_aggregate", culprit.span, func=name)
    if name in LITERAL_CALLS:
        return _literal_call(name, args, span)
    return ast.Call(name, tuple(args), span=span)


def _aggregate(name, args, where, window, span, range_spans) -> ast.Aggregate:
    if len(args) != 1:
        raise syntax_error("bad_aggregate_argument", args[1].span if len(args) > 1 else span)
    (arg,) = args
    if isinstance(arg, ast.Between) and not arg.negated and isinstance(arg.operand, (ast.Name, ast.Dotted)):
        # `max(o.t between a and b)`: the parser shifted the window into the argument
        if where is not None or window is not None:
            raise syntax_error("window_order", range_spans[id(arg)])
        window = ast.TimeRange(arg.low, arg.high, span=range_spans[id(arg)])
        arg = arg.operand
    if isinstance(arg, ast.Name):
        source, column = arg.name, None
    elif isinstance(arg, ast.Dotted):
        source, column = arg.namespace, arg.name
    else:
        raise syntax_error("bad_aggregate_argument", arg.span)
    return ast.Aggregate(name, source, column, where, window, span=span)


def _literal_call(name, args, span) -> ast.Expr:
    decode, node_type, example = LITERAL_CALLS[name]
    if len(args) != 1 or not isinstance(args[0], ast.String):
        culprit = args[0].span if len(args) == 1 else span
        raise syntax_error("literal_args", culprit, func=name, example=example)
    text = args[0]
    try:
        value = decode(text.value)
    except LiteralError as exc:
        raise syntax_error(exc.key, text.span, **exc.fields) from None
    return node_type(value, span=span)
