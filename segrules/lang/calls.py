"""One generic call rule in the grammar, four kinds of node out of it.

``NAME "(" [args] [where cond] [within D | between a and b] ")"`` becomes

* :class:`~.ast.Aggregate` when the name is in ``AGGREGATE_FUNCS``;
* :class:`~.ast.SegmentRef` for ``segment('name')``;
* :class:`~.ast.DateLit` / :class:`~.ast.TimestampLit` for ``date('...')`` / ``timestamp('...')``;
* :class:`~.ast.Sequence` for ``sequence(...)`` / ``time_between(...)``, whose steps are
  separated by ``then``;
* :class:`~.ast.Call` otherwise, where ``where``, ``then``, ``convert`` and windows are errors.
"""

from __future__ import annotations

from typing import Callable, Mapping, NamedTuple, Sequence

from ..diagnostics import Span
from . import ast
from .lexicon import LiteralError, decode_date, decode_timestamp
from .syntax_errors import syntax_error

# name -> (the node of the call's text at a span, which raises LiteralError for a bad text; example)
LITERAL_CALLS: dict[str, tuple[Callable[[str, Span], ast.Expr], str]] = {
    "date": (lambda text, span: ast.DateLit(decode_date(text), span=span), "date('2024-01-31')"),
    "timestamp": (lambda text, span: ast.TimestampLit(decode_timestamp(text), span=span),
                  "timestamp('2024-01-31 10:00:00')"),
    "segment": (lambda text, span: ast.SegmentRef(text, span=span), "segment('vip')"),
}
RESERVED_CALL_NAMES = frozenset(ast.AGGREGATE_FUNCS) | frozenset(LITERAL_CALLS) | frozenset(ast.SEQUENCE_FUNCS)
"""Names a plain :class:`~.ast.Call` cannot have: the text would read back as another node."""


class ThenStep(NamedTuple):
    """``then SOURCE [where CONDITION]`` as parsed, before it becomes an :class:`~.ast.Step`."""

    source: ast.Expr
    where: ast.Expr | None
    span: Span


def build_call(
    name: str,
    args: list[ast.Expr],
    where: ast.Expr | None,
    window: ast.Window | None,
    span: Span,
    range_spans: Mapping[int, Span],
    *,
    steps: Sequence[ThenStep] = (),
    convert: ast.Duration | ast.Param | None = None,
) -> ast.Expr:
    """The node for one call; ``range_spans`` maps ``id(Between)`` to its span from 'between' on."""
    if name in ast.SEQUENCE_FUNCS:
        return _sequence(name, args, where, steps, convert, window, span, range_spans)
    if steps:
        raise syntax_error("steps_outside_sequence", steps[0].span, func=name)
    if convert is not None:
        raise syntax_error("steps_outside_sequence", convert.span, func=name)
    if name in ast.AGGREGATE_FUNCS:
        return _aggregate(name, args, where, window, span, range_spans)
    if where is not None:
        raise syntax_error("clause_outside_aggregate", where.span, func=name)
    if window is not None:
        raise syntax_error("clause_outside_aggregate", window.span, func=name)
    if name in LITERAL_CALLS:
        return _literal_call(name, args, span)
    return ast.Call(name, tuple(args), span=span)


def _aggregate(name: str, args: Sequence[ast.Expr], where: ast.Expr | None, window: ast.Window | None, span: Span,
               range_spans: Mapping[int, Span]) -> ast.Aggregate:
    if len(args) != 1:
        raise syntax_error("bad_aggregate_argument", args[1].span if len(args) > 1 else span)
    arg: ast.Expr = args[0]
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


def _sequence(name: str, args: Sequence[ast.Expr], where: ast.Expr | None, steps: Sequence[ThenStep],
              convert: ast.Duration | ast.Param | None, window: ast.Window | None, span: Span,
              range_spans: Mapping[int, Span]) -> ast.Sequence:
    if len(args) != 1:
        raise syntax_error("bad_step", args[1].span if len(args) > 1 else span, func=name)
    first: ast.Expr = args[0]
    if (isinstance(first, ast.Between) and not first.negated and isinstance(first.operand, ast.Name)
            and where is None and not steps):
        # `sequence(a between x and y)`: a one-step sequence with a time range; reported below
        first = first.operand
    built = [_step(name, first, where, span)]
    for then in steps:
        source: ast.Expr = then.source
        if then is steps[-1] and isinstance(source, ast.Between) and not source.negated and then.where is None \
                and isinstance(source.operand, ast.Name):
            # `... then b between x and y)`: the parser shifted the time range into the step
            if window is not None or convert is not None:
                raise syntax_error("window_order", range_spans[id(source)])
            window = ast.TimeRange(source.low, source.high, span=range_spans[id(source)])
            source = source.operand
        built.append(_step(name, source, then.where, then.span))
    if len(built) < 2:
        raise syntax_error("one_step", span, func=name)
    return ast.Sequence(name, tuple(built), convert, window, span=span)


def _step(func: str, source: ast.Expr, where: ast.Expr | None, span: Span) -> ast.Step:
    if not isinstance(source, ast.Name):
        raise syntax_error("bad_step", source.span, func=func)
    step_span = Span(span.file, source.span.line, source.span.column,
                     (where or source).span.end_line, (where or source).span.end_column) \
        if source.span is not None and (where or source).span is not None else span
    return ast.Step(source.name, where, span=step_span)


def _literal_call(name: str, args: Sequence[ast.Expr], span: Span) -> ast.Expr:
    build, example = LITERAL_CALLS[name]
    if len(args) != 1 or not isinstance(args[0], ast.String):
        culprit = args[0].span if len(args) == 1 else span
        raise syntax_error("literal_args", culprit, func=name, example=example)
    text = args[0]
    try:
        return build(text.value, span)
    except LiteralError as exc:
        raise syntax_error(exc.key, text.span, **exc.fields) from None
