"""Parse rule expressions into the frozen nodes of :mod:`segrules.lang.ast`.

``parse_expr(text)`` is the entry point.  The Lark parser is built once per
:class:`Parser` (LALR, basic lexer, ``propagate_positions``); :func:`default_parser` caches
one, created on first use, never at import.  :class:`AstBuilder` turns Lark's tree into AST
nodes whose spans go through a :class:`SourceMap`, so they point into the YAML file the
expression came from.  Every failure is an :class:`ExprSyntaxError` with an ``SR2xx`` code
(see :mod:`.syntax_errors`).

Grammar decisions
-----------------
* Number literals are non-negative; ``-1`` is ``Neg(Number(1))``.
* Comparisons, ``in``, ``between`` and ``is null`` are non-associative: ``a < b < c`` is
  an error (SR205).  Their operands, and the bounds of ``between``, are arithmetic
  expressions, so ``x between 1 and 5 and y`` reads as ``(x between 1 and 5) and y``.
* ``between`` after a call argument or a ``where`` condition is a shift/reduce conflict,
  the only one in the grammar (a test pins it).  Lark resolves it as shift, so
  ``sum(o.a where x between 1 and 5)`` filters on ``x between 1 and 5``.  To give such an
  aggregate a time range, parenthesise the condition:
  ``sum(o.a where (x) between date('2024-01-01') and now)``; ``where_paren`` has priority
  over the parenthesised atom for exactly this.  A condition ending in a comparison needs no
  parentheses: ``count(o where s == 'paid' between a and b)``.
* For an aggregate without ``where`` the shift yields ``max(o.t between a and b)`` as a
  ``Between`` argument; since an aggregate argument can only be a source or column, the
  builder reads it as the time range.  In other calls it stays an argument:
  ``f(x between 1 and 2)`` is ``Call('f', (Between(...),))``.
"""

from __future__ import annotations

import difflib
import functools
import os
import sys
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence, TypeAlias, TypeVar

import lark as _lark
from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedInput, VisitError
from lark.grammar import Symbol
from lark.tree import Meta

from ..diagnostics import Span
from ..errors import ExprSyntaxError
from . import ast
from .calls import ThenStep, build_call
from .limits import MAX_EXPR_DEPTH, too_deep
from .lexicon import LiteralError, decode_duration, decode_number, decode_string
from .month_hints import month_hint
from .positions import SourceMap, token_end, token_start
from .syntax_errors import SyntaxErrorReporter, syntax_error


def load_grammar() -> str:
    return resources.files("segrules.lang").joinpath("grammar.lark").read_text(encoding="utf-8")


def grammar_cache() -> str | bool:
    """The file that keeps Lark's analysis of the grammar (the LALR tables) between processes, or
    False for none.  Building the tables costs about 0.1 s, a third of the start-up of a run.

    The file lives in a folder of the user's own: ``$SEGRULES_CACHE_DIR`` (set it empty to turn
    the cache off), else ``$XDG_CACHE_HOME/segrules``, else ``~/.cache/segrules`` (it is unpickled,
    so never a shared temporary folder).  Lark writes it on first use and reads it only when it
    holds the SHA-256 of this grammar and these options; a stale, foreign or broken file is
    rebuilt, and a folder that cannot be created means no cache, never an error."""
    folder = os.environ.get("SEGRULES_CACHE_DIR")
    if folder is None:
        folder = str(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "segrules")
    if not folder:
        return False
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return False
    python = "%d%d" % sys.version_info[:2]
    return os.path.join(folder, f"grammar-lark{_lark.__version__}-py{python}.pickle")


def build_lark(**options: object) -> Lark:
    """A Lark parser for the grammar; ``options`` override the defaults (tests pass ``debug``).
    Only the default parser goes through :func:`grammar_cache` (one file, one set of options)."""
    settings: dict[str, object] = dict(parser="lalr", lexer="basic", propagate_positions=True,
                                       maybe_placeholders=True, cache=False if options else grammar_cache())
    settings.update(options)
    return Lark(load_grammar(), **settings)


class Parser:
    """One Lark parser and its syntax-error table, reused for every expression."""

    def __init__(self) -> None:
        self.lark = build_lark()
        skip_pass_through_rules(self.lark)
        self.reporter = SyntaxErrorReporter(self.lark)

    def parse(self, text: str, source_map: SourceMap | None = None) -> ast.Expr:
        source_map = source_map or SourceMap.for_text(text)
        try:
            tree = self.lark.parse(text)
        except UnexpectedInput as exc:
            raise self.reporter.explain(exc, text, source_map) from None
        try:
            node = build_ast(AstBuilder(source_map, text), tree)
        except VisitError as exc:
            if isinstance(exc.orig_exc, ExprSyntaxError):
                raise exc.orig_exc from None
            raise
        deep = too_deep(node)
        if deep is not None:
            raise syntax_error("too_deep", deep.span, limit=str(MAX_EXPR_DEPTH))
        return node


def _first_child(children: Children) -> object:
    return children[0]


def skip_pass_through_rules(lark: Lark) -> None:
    """Reduce ``?rule: other_rule`` without Lark's tree building and position propagation.

    Such a rule (``?sum: product``, ``?expr: or_expr`` ...) returns its one child unchanged,
    whose positions are already set, yet Lark still runs its callback chain for it; an operand
    passes through ten of them on its way up the precedence levels.  Skipping them halves the
    parse time of a 500-segment spec.  The callbacks dict is the one the LALR parser calls; if
    a Lark version builds it otherwise, nothing is changed.
    """
    callbacks = getattr(lark, "_callbacks", None)
    if not isinstance(callbacks, dict) or lark.options.parser != "lalr" or lark.options.transformer:
        return
    for rule in list(callbacks):
        expansion: Sequence[Symbol] = getattr(rule, "expansion", ())
        if (len(expansion) == 1 and rule.options.expand1 and not rule.alias
                and not expansion[0].is_term and not expansion[0].name.startswith("_")):
            callbacks[rule] = _first_child


@functools.lru_cache(maxsize=1)
def default_parser() -> Parser:
    return Parser()


def parse_expr(text: str, *, source_map: SourceMap | None = None) -> ast.Expr:
    """Parse one expression; node spans go through ``source_map`` (default: the text itself).

    Raises :class:`ExprSyntaxError` (and nothing else) for any text that is not a valid
    expression.
    """
    return default_parser().parse(text, source_map)


# What a builder method receives: Lark tokens, None for an absent optional part (`[x]` with
# maybe_placeholders) and what the methods of the rules below built. Which of them a rule gets is
# fixed by the grammar, which mypy cannot see: each method unpacks its children as its rule
# defines them and returns a precisely typed value.
Children: TypeAlias = list[Any]
_T = TypeVar("_T")


@v_args(meta=True)
class AstBuilder(Transformer[Token, ast.Expr]):
    """Lark tree -> AST nodes, one method per grammar alias, a span on every node."""

    def __init__(self, source_map: SourceMap, text: str = "") -> None:
        super().__init__(visit_tokens=False)
        self._map = source_map
        self._text = text  # the expression, for hints that quote what comes before a token
        # id(Between) -> span from its 'between' keyword on: the span of the time range it
        # becomes when it is an aggregate's argument (see calls.build_call)
        self._range_spans: dict[int, Span] = {}

    def _span(self, meta: Meta) -> Span:
        return self._map.span(meta.start_pos, meta.end_pos)

    def _token_span(self, token: Token) -> Span:
        return self._map.span(token_start(token), token_end(token))

    def _literal(self, token: Token, decode: Callable[[str], _T]) -> _T:
        try:
            return decode(token.value)
        except LiteralError as exc:
            start = token_start(token)
            span = self._map.span(start + exc.start, start + exc.end)
            hint = None
            if exc.key == "bad_duration_unit":  # `now - 1month`
                hint = month_hint(self._text[:start], token.value[:exc.start], exc.fields["unit"])
            raise syntax_error(exc.key, span, hint=hint, **exc.fields) from None

    # --- operators ----------------------------------------------------------------------
    def or_(self, meta: Meta, children: Children) -> ast.Or:
        return ast.Or(tuple(children), span=self._span(meta))

    def and_(self, meta: Meta, children: Children) -> ast.And:
        return ast.And(tuple(children), span=self._span(meta))

    def not_(self, meta: Meta, children: Children) -> ast.Not:
        return ast.Not(*children, span=self._span(meta))

    def neg(self, meta: Meta, children: Children) -> ast.Neg:
        _minus, operand = children
        return ast.Neg(operand, span=self._span(meta))

    def binop(self, meta: Meta, children: Children) -> ast.BinOp:
        left, op, right = children
        return ast.BinOp(op.value, left, right, span=self._span(meta))

    def compare(self, meta: Meta, children: Children) -> ast.Compare:
        left, op, right = children
        return ast.Compare(op.value, left, right, span=self._span(meta))

    def in_list(self, meta: Meta, children: Children) -> ast.InList:
        operand, negated, items = children
        return ast.InList(operand, tuple(items), negated=negated is not None, span=self._span(meta))

    def items(self, meta: Meta, children: Children) -> list[ast.Expr]:
        return children

    def between(self, meta: Meta, children: Children) -> ast.Between:
        operand, negated, keyword, low, high = children
        node = ast.Between(operand, low, high, negated=negated is not None, span=self._span(meta))
        self._range_spans[id(node)] = self._map.span(token_start(keyword), meta.end_pos)
        return node

    def is_null(self, meta: Meta, children: Children) -> ast.IsNull:
        operand, negated = children
        return ast.IsNull(operand, negated=negated is not None, span=self._span(meta))

    # --- literals and names -------------------------------------------------------------
    def number(self, meta: Meta, children: Children) -> ast.Number:
        return ast.Number(self._literal(children[0], decode_number), span=self._span(meta))

    def string(self, meta: Meta, children: Children) -> ast.String:
        return ast.String(self._literal(children[0], decode_string), span=self._span(meta))

    def duration(self, meta: Meta, children: Children) -> ast.Duration:
        return self._duration(children[0])

    def _duration(self, token: Token) -> ast.Duration:
        amount, unit = self._literal(token, decode_duration)
        return ast.Duration(amount, unit, span=self._token_span(token))

    def param(self, meta: Meta, children: Children) -> ast.Param:
        return ast.Param(children[0].value[1:], span=self._span(meta))

    def true(self, meta: Meta, children: Children) -> ast.Boolean:
        return ast.Boolean(True, span=self._span(meta))

    def false(self, meta: Meta, children: Children) -> ast.Boolean:
        return ast.Boolean(False, span=self._span(meta))

    def null(self, meta: Meta, children: Children) -> ast.Null:
        return ast.Null(span=self._span(meta))

    def now(self, meta: Meta, children: Children) -> ast.Now:
        return ast.Now(span=self._span(meta))

    def today(self, meta: Meta, children: Children) -> ast.Today:
        return ast.Today(span=self._span(meta))

    def name(self, meta: Meta, children: Children) -> ast.Name:
        return ast.Name(children[0].value, span=self._span(meta))

    def dotted(self, meta: Meta, children: Children) -> ast.Dotted:
        namespace, name = children
        return ast.Dotted(namespace.value, name.value, span=self._span(meta))

    # --- calls --------------------------------------------------------------------------
    def call(self, meta: Meta, children: Children) -> ast.Expr:
        name, (args, where, *steps, convert, window) = children
        return build_call(name.value, args or [], where, window, self._span(meta), self._range_spans,
                          steps=steps, convert=convert)

    def call_body(self, meta: Meta, children: Children) -> Children:
        return children

    def then_step(self, meta: Meta, children: Children) -> ThenStep:
        source, where = children
        return ThenStep(source, where, self._span(meta))

    def convert(self, meta: Meta, children: Children) -> ast.Duration | ast.Param:
        token: Token = children[0]
        if token.type == "PARAM":
            return ast.Param(token.value[1:], span=self._token_span(token))
        return self._duration(token)

    def args(self, meta: Meta, children: Children) -> list[ast.Expr]:
        return children

    def where(self, meta: Meta, children: Children) -> ast.Expr:
        condition: ast.Expr = children[0]
        return condition

    def where_paren(self, meta: Meta, children: Children) -> ast.Expr:
        condition: ast.Expr = children[0]
        return condition

    def within(self, meta: Meta, children: Children) -> ast.Within:
        return ast.Within(self._duration(children[0]), span=self._span(meta))

    def within_param(self, meta: Meta, children: Children) -> ast.Within:
        token: Token = children[0]
        param = ast.Param(token.value[1:], span=self._token_span(token))
        return ast.Within(param, span=self._span(meta))

    def within_next(self, meta: Meta, children: Children) -> ast.Within:
        word, token = children
        if word.value != "next":  # `within this 30d`: a duration needs no word before it
            raise syntax_error("within_next_word", self._token_span(word), word=word.value)
        return ast.Within(self._duration(token), ahead=True, span=self._span(meta))

    def within_calendar(self, meta: Meta, children: Children) -> ast.CalendarWindow:
        period, unit = children
        for token, allowed, key in ((period, ast.CALENDAR_PERIODS, "calendar_period"),
                                    (unit, ast.CALENDAR_UNITS, "calendar_unit")):
            if token.value not in allowed:
                close = difflib.get_close_matches(token.value, allowed, n=1)
                raise syntax_error(key, self._token_span(token), word=token.value,
                                   hint=f"did you mean {close[0]!r}?" if close else None)
        return ast.CalendarWindow(period.value, unit.value, span=self._span(meta))

    def time_range(self, meta: Meta, children: Children) -> ast.TimeRange:
        start, end = children
        return ast.TimeRange(start, end, span=self._span(meta))

    def __default__(self, data: str, children: Children, meta: Meta) -> object:  # pragma: no cover - grammar and builder agree
        raise AssertionError(f"no AST builder for grammar rule {data!r}")


def build_ast(builder: AstBuilder, tree: Tree[Token]) -> ast.Expr:
    """``builder.transform(tree)`` without Lark's generic dispatch: one call per node.

    Iterative (children before parents, from an explicit stack), so a deeply nested text is
    built and then refused with SR250 by :func:`.limits.too_deep`, never a RecursionError."""
    methods = _builder_methods()
    done: Children = []  # built values of finished subtrees, in order
    stack: list[tuple[Tree[Token], bool]] = [(tree, False)]
    while stack:
        node, expanded = stack.pop()
        if not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c in reversed(node.children) if isinstance(c, Tree))
            continue
        subtrees = sum(1 for c in node.children if isinstance(c, Tree))
        built = iter(done[len(done) - subtrees:]) if subtrees else iter(())
        if subtrees:
            del done[len(done) - subtrees:]
        children = [next(built) if isinstance(c, Tree) else c for c in node.children]
        method = methods.get(node.data)
        if method is None:  # pragma: no cover - grammar and builder agree
            raise AssertionError(f"no AST builder for grammar rule {node.data!r}")
        done.append(method(builder, node.meta, children))
    root: ast.Expr = done[0]  # the start rule builds an expression
    return root


BuilderMethod: TypeAlias = Callable[[AstBuilder, Meta, Children], object]


@functools.lru_cache(maxsize=1)
def _builder_methods() -> dict[str, BuilderMethod]:
    """Grammar rule -> the plain function of the AstBuilder method (under its v_args wrapper)."""
    return {name: value.base_func for name, value in vars(AstBuilder).items()
            if not name.startswith("_") and hasattr(value, "base_func")}
