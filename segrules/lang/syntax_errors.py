"""Example-driven syntax errors: a table of labelled bad inputs and human messages.

Every entry of :data:`CATALOGUE` owns a stable ``SR2xx`` code, a message template and
the bad inputs that must produce it (``tests/test_lang_syntax_errors.py`` parametrises over
this very table).  Entries are recognised in one of three ways (``match``):

``"state"``
    The LALR state in which the parser gave up, learned by parsing the examples, as Lark's
    ``UnexpectedInput.match_examples`` does.  Unlike ``match_examples`` we compare only the
    state (Lark also compares the depth of the parse stack, so ``a and`` would not teach
    ``(a and``), and ``tokens`` may restrict an entry to some offending token types: after a
    complete value, ``x y`` means "two values" but ``x )`` means "unmatched ')'".
``"char"``
    A character the lexer cannot start a token with (``=``, an unterminated quote...).
``"build"``
    Raised while building the AST, for text that parses but means nothing (``30days``,
    ``date('2024-13-01')``, ``sum(1 + 2)``).
``"fallback"``
    ``SR200``, for a parser error no entry describes: "unexpected X", hint "expected ...".

Message templates may use ``{prev}`` (the token before the fault), ``{found}`` (the fault),
``{expected}``, ``{char}`` and the fields the builder passes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable, Literal, TypeAlias, cast

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from ..diagnostics import Span
from ..errors import ExprSyntaxError
from .lexicon import KEYWORDS
from .month_hints import month_hint
from .positions import SourceMap, token_end, token_start

VALUE_TOKENS = frozenset(
    ("NAME", "INT", "DECIMAL", "STRING", "DURATION", "PARAM", "TRUE", "FALSE", "NULL", "NOW", "TODAY", "LPAR")
)
BINARY_TOKENS = frozenset(("AND", "OR", "COMP_OP", "PLUS", "STAR", "SLASH", "PERCENT", "IN", "BETWEEN", "IS"))
_AGGREGATES_HINT = "count(orders), sum(orders.amount where status == 'paid' within 90d)"


Match: TypeAlias = Literal["state", "char", "build", "fallback"]


@dataclass(frozen=True)
class SyntaxErrorKind:
    key: str
    code: str
    message: str
    examples: tuple[str, ...]
    match: Match = "state"
    tokens: frozenset[str] | None = None  # "state": offending token types it covers (None: all)
    chars: str = ""  # "char": the characters it covers
    hint: str | None = None


def _kind(key: str, code: str, message: str, *examples: str, match: Match = "state",
          tokens: frozenset[str] | None = None, chars: str = "", hint: str | None = None) -> SyntaxErrorKind:
    return SyntaxErrorKind(key, code, message, tuple(examples), match=match, tokens=tokens, chars=chars, hint=hint)


# Order matters for "state" entries: the first entry whose state and token fit wins.
CATALOGUE: tuple[SyntaxErrorKind, ...] = (
    # --- the parser gave up -------------------------------------------------------------------
    _kind("empty_expression", "SR208", "empty expression", "", "   ", "# only a comment",
          tokens=frozenset({"$END"})),
    _kind("unclosed_paren", "SR201", "missing closing parenthesis",
          "(a and b", "((a)", "f(x", "f(x, y", "f(", "x in (1, 2", "x in (1", "count(orders where x == 1",
          "count(orders within 30d", "sum(o.a where (x)", "sum(o.a where (x) between 1 and 2",
          tokens=frozenset({"$END"}), hint="add ')' to close the parenthesis opened here"),
    _kind("unmatched_paren", "SR207", "unmatched ')'", ")", "a)", "(a))", "a and b)", "f(x))",
          tokens=frozenset({"RPAR"})),
    _kind("missing_left_operand", "SR203", "missing operand before {found}",
          "and x", "or x", "== 1", "* 2", "+ 1", "(and x)", "f(or x)", "in (1)",
          tokens=BINARY_TOKENS),
    _kind("dangling_comparison", "SR204", "dangling comparison: '{prev}' needs a value on its right",
          "x ==", "x < )", "x >= and y", "x != or y"),
    _kind("chained_comparison", "SR205", "comparisons cannot be chained",
          "a < b < c", "a == b == c", "a == b + 1 > c", "a == b in (1)", "a < b between 1 and 2",
          "a == b is null", "a between 1 and 2 < 3", "x is null == true", "x in (1) == true",
          tokens=frozenset({"COMP_OP", "IN", "BETWEEN", "IS", "NOT"}),
          hint="combine comparisons with 'and': a < b and b < c"),
    _kind("empty_list", "SR210", "empty list: 'in' needs at least one value", "x in ()", "x not in ()",
          tokens=frozenset({"RPAR"})),
    _kind("missing_operand", "SR202", "missing operand after '{prev}'",
          "a and", "a or", "not", "a and )", "a or or b", "not )", "1 +", "1 -", "2 *", "2 /", "2 %", "-",
          "(", "f(x,", "x in (1,", "x in (", "x between", "x between 1 and", "count(o where)",
          "count(o where", "sum(o.a where (x) between)", "sum(o.a where (x) between 1 and)"),
    _kind("two_values", "SR206", "two values with no operator between them",
          "x y", "1 2", "1.5 x", "'a' b", "30d x", "$p x", "true x", "false x", "null x", "now x",
          "today x", "a.b c", "(a) b", "f(x) y", "f() y", "x is null y", "x is not null y",
          "x in (1) y", "x == 1 y", "x AND y", "now - 1 month",
          tokens=VALUE_TOKENS, hint="join them with an operator such as 'and', '==' or '+'"),
    _kind("in_needs_list", "SR209", "'in' needs a parenthesised list, e.g. x in (1, 2)",
          "x in 1", "x not in y", "x in 'a'"),
    _kind("between_needs_and", "SR211", "'between' needs 'and': x between low and high",
          "x between 1", "x between 1 or 2", "x between 1, 2", "x not between 1 )",
          "sum(o.a where (x) between 1)"),
    _kind("is_needs_null", "SR212", "'is' must be followed by 'null' or 'not null'",
          "x is 1", "x is not 1", "x is true"),
    _kind("not_needs_in_or_between", "SR216", "'not' after a value must be followed by 'in' or 'between'",
          "x not y", "x not == 1", "x not", hint="to negate a condition, put 'not' in front: not x == 1"),
    _kind("double_dot", "SR213", "a name has at most one dot: namespace.name", "a.b.c", "a.b.c.d",
          tokens=frozenset({"DOT"})),
    _kind("name_after_dot", "SR214", "expected a name after '.'", "a.", "a.1", "a.and", "a.(b)"),
    _kind("within_needs_duration", "SR215",
          "'within' needs a duration such as 30d or $recent, or a calendar period such as 'this month'",
          "count(o within 30)", "count(o within x)", "count(o within)", "count(o within this)"),
    _kind("convert_needs_duration", "SR265", "'convert' needs a duration such as 7d or $window",
          "sequence(a then b convert 7)", "sequence(a then b convert x)", "sequence(a then b convert)",
          "time_between(a then b convert 'x')"),
    # --- the lexer gave up --------------------------------------------------------------------
    _kind("unterminated_string", "SR220", "unterminated string", "'abc", "x == \"abc", "'it\\'s",
          match="char", chars="'\"", hint="close the string with the quote it starts with"),
    _kind("single_equals", "SR221", "'=' is not an operator; use '=='", "x = 1", "x => 1",
          match="char", chars="="),
    _kind("bang_operator", "SR222", "'!' is not an operator; use 'not' or '!='", "!x", "x ! 1",
          match="char", chars="!"),
    _kind("c_style_logic", "SR223", "{char} is not an operator; use 'and' or 'or'", "a && b", "a || b",
          match="char", chars="&|"),
    _kind("bare_dollar", "SR224", "'$' must be followed by a parameter name, e.g. $min_spend",
          "x > $", "x > $1", match="char", chars="$"),
    _kind("unexpected_character", "SR225", "unexpected character {char}", "x @ y", "x ; y", "x ^ 2",
          match="char"),
    # --- the tokens lexed but mean nothing ----------------------------------------------------
    _kind("bad_duration_unit", "SR230", "unknown duration unit '{unit}', use s, min, h, d or w",
          "30days", "count(o within 2m)", "5sec", "now - 1month", match="build"),
    _kind("fractional_duration", "SR231", "duration amounts are whole numbers: {text}", "1.5h",
          match="build", hint="use a smaller unit, e.g. 90min"),
    _kind("bad_escape", "SR232", "unknown escape '{escape}' in string; only \\', \\\" and \\\\ are allowed",
          "'a\\nb'", "x == \"\\d\"", match="build"),
    _kind("string_char", "SR226", "{char} is not allowed in a string", "x == 'a\x00b'", "'\ud800'",
          match="build", hint="PostgreSQL cannot store it; remove the character"),
    _kind("number_too_long", "SR233", "number literal too long ({digits} digits)", "1" * 5000,
          match="build"),
    _kind("bad_date", "SR234", "invalid date '{text}': expected date('YYYY-MM-DD')",
          "date('2024-13-01')", "date('31/01/2024')", "date('')", match="build"),
    _kind("bad_timestamp", "SR235",
          "invalid timestamp '{text}': expected timestamp('YYYY-MM-DD HH:MM:SS')",
          "timestamp('2024-01-31')", "timestamp('2024-01-31 25:00:00')", match="build"),
    _kind("literal_args", "SR236", "{func}() takes exactly one quoted string, e.g. {example}",
          "date(x)", "date()", "segment('a', 'b')", "segment(vip)", "timestamp(1)", match="build"),
    _kind("bad_aggregate_argument", "SR240", "aggregate argument must be a source or source.column",
          "count()", "sum(1 + 2)", "count(a, b)", "sum(orders.amount * 2)", "count('orders')",
          "count(orders not between 1 and 2)", match="build", hint=_AGGREGATES_HINT),
    _kind("clause_outside_aggregate", "SR241",
          "'where' and time windows only go in aggregates (count, sum, avg, min, max, "
          "count_distinct, first, last), not in {func}()",
          "lower(x where y)", "f(x within 30d)", "segment('a' within 30d)", "f(where x)", match="build"),
    _kind("window_order", "SR242", "an aggregate takes one time window, after its 'where' clause",
          "count(orders between 1 and 2 where x)", "count(orders between 1 and 2 within 30d)",
          match="build"),
    _kind("calendar_period", "SR260", "unknown calendar period '{word}': use 'this' or 'last', e.g. "
          "within last month", "count(o within next month)", "count(o within these weeks)", match="build"),
    _kind("within_next_word", "SR266", "unknown word '{word}' before the duration: only 'within next D' "
          "(the rows after now, in a model's label) has one", "count(o within this 30d)",
          "count(o within last 7d)", match="build"),
    _kind("calendar_unit", "SR261", "unknown calendar unit '{word}': use day, week, month, quarter or year",
          "count(o within this months)", "count(o within last fortnight)", match="build"),
    _kind("steps_outside_sequence", "SR262",
          "'then' steps and 'convert' only go in sequence() and time_between(), not in {func}()",
          "count(a then b)", "f(x then y)", "count(o convert 3d)", match="build",
          hint="sequence(events where name == 'a' then orders convert 7d)"),
    _kind("bad_step", "SR263", "a step of {func}() is a source, optionally with 'where': SOURCE [where CONDITION]",
          "sequence(a.b then c)", "sequence(1 then b)", "sequence(a then b.c)", "sequence(a, b then c)",
          "time_between(a then lower(b))", "sequence()", match="build",
          hint="sequence(events where name == 'view' then orders where status == 'paid')"),
    _kind("one_step", "SR264", "{func}() needs at least two steps, separated by 'then'",
          "sequence(events)", "time_between(orders where x == 1)", "sequence(a within 3d)", match="build",
          hint="for one step, use an aggregate: count(events where ...) > 0"),
    _kind("too_deep", "SR250", "expression is nested too deeply: more than {limit} levels", "-(1 + " * 101 + "x" + ")" * 101,
          "not (x and " * 60 + "y" + ")" * 60, "(" * 200 + "x" + " + 1)" * 200, match="build",
          hint="move inner parts into features (a chain of 'and'/'or', an 'in' list or a run of 'not' counts as one "
          "level)"),
    _kind("unexpected_token", "SR200", "unexpected {found}", "a, b", "x where y", "within 30d", match="fallback",
          hint="expected {expected}"),
)

KINDS = {kind.key: kind for kind in CATALOGUE}
_CHAR_KINDS = {char: kind for kind in CATALOGUE if kind.match == "char" for char in kind.chars}

_TERMINAL_NAMES = {
    "NAME": "a name", "INT": "a number", "DECIMAL": "a number", "STRING": "a string",
    "DURATION": "a duration", "PARAM": "a $parameter", "COMP_OP": "a comparison", "$END": "end of expression",
}


def syntax_error(key: str, span: Span | None, *, hint: str | None = None, **fields: str) -> ExprSyntaxError:
    """The error for catalogue entry ``key``, its message and hint filled from ``fields``.

    ``hint`` replaces the entry's own hint.
    """
    kind = KINDS[key]
    if hint is None and kind.hint:
        hint = kind.hint.format(**fields)
    return ExprSyntaxError(kind.message.format(**fields), span=span, code=kind.code, hint=hint)


class SyntaxErrorReporter:
    """Turns Lark's exceptions into ``ExprSyntaxError`` using :data:`CATALOGUE`.

    Built once per parser; the examples are parsed the first time an error needs them.
    """

    def __init__(self, lark: Lark, catalogue: Iterable[SyntaxErrorKind] = CATALOGUE):
        self._lark = lark
        self._catalogue = tuple(catalogue)
        self._patterns = {t.name: t.pattern for t in lark.terminals}

    @functools.cached_property
    def learned_states(self) -> tuple[tuple[SyntaxErrorKind, frozenset[int]], ...]:
        """For each "state" entry, the LALR states its examples fail in."""
        learned = []
        for kind in self._catalogue:
            if kind.match == "state":
                learned.append((kind, frozenset(self._failing_state(ex, kind) for ex in kind.examples)))
        return tuple(learned)

    def _failing_state(self, example: str, kind: SyntaxErrorKind) -> int:
        try:
            self._lark.parse(example)
        except UnexpectedToken as exc:
            position: int = exc.state.position  # the LALR state number (Lark types `state` as Any)
            return position
        raise AssertionError(f"example {example!r} of {kind.key} is not a parser error")

    def classify(self, exc: UnexpectedToken) -> SyntaxErrorKind:
        position = exc.state.position
        for kind, states in self.learned_states:
            if position in states and (kind.tokens is None or exc.token.type in kind.tokens):
                return kind
        return KINDS["unexpected_token"]

    def explain(self, exc: UnexpectedInput, text: str, source_map: SourceMap) -> ExprSyntaxError:
        if isinstance(exc, UnexpectedCharacters):
            # Lark declares `pos_in_stream = None` on the base class; the lexer's error sets the offset
            pos = cast(int, exc.pos_in_stream)
            char = text[pos]
            kind = _CHAR_KINDS.get(char, KINDS["unexpected_character"])
            return syntax_error(kind.key, source_map.span(pos, pos + 1), char=repr(char))
        assert isinstance(exc, UnexpectedToken), exc
        token = exc.token
        kind = self.classify(exc)
        start = _token_start(token)
        fields = {"prev": self._previous(text, start), "found": self._describe(token)}
        if kind.key == "unclosed_paren":  # point at the '(' rather than at the end
            start = _unclosed_paren(self._lark.lex(text), default=start)
        end = start + 1 if token.type == "$END" else token.end_pos
        if "{expected}" in kind.message + (kind.hint or ""):
            fields["expected"] = ", ".join(sorted({self._describe_type(t) for t in self._expected(text, token)}))
        hint = None
        if token.type == "NAME" and token.value.lower() in KEYWORDS:
            hint = f"keywords are lowercase: write '{token.value.lower()}'"
        elif kind.key == "two_values" and token.type == "NAME":  # `now - 1 month`
            before = [t for t in self._lark.lex(text[:start]) if token_end(t) <= start]
            if before and before[-1].type == "INT":
                hint = month_hint(text[:token_start(before[-1])], before[-1].value, token.value)
        return syntax_error(kind.key, source_map.span(start, end), hint=hint, **fields)

    def _previous(self, text: str, offset: int) -> str:
        last = None
        for last in self._lark.lex(text[:offset]):
            pass
        return last.value if last is not None else ""

    def _expected(self, text: str, fault: Token) -> set[str]:
        """The terminals the parser could take instead of ``fault``.

        ``UnexpectedToken.expected`` is taken after the reductions LALR performs before it
        notices the fault (``x where`` reduces ``x`` to a whole expression and then only
        expects the end), so replay the tokens up to the fault and ask the parser then.
        """
        interactive = self._lark.parse_interactive(text)
        for token in interactive.iter_parse():
            if token.start_pos == fault.start_pos and token.type == fault.type:
                break
        accepted: set[str] = interactive.accepts()  # untyped in Lark
        return accepted

    def _describe(self, token: Token) -> str:
        if token.type == "$END":
            return "end of expression"
        return repr(token.value) if token.type == "STRING" else f"'{token.value}'"

    def _describe_type(self, name: str) -> str:
        if name in _TERMINAL_NAMES:
            return _TERMINAL_NAMES[name]
        pattern = self._patterns.get(name)
        return f"'{pattern.value}'" if isinstance(pattern, PatternStr) else name


def _token_start(token: Token) -> int:
    if token.type == "$END":  # Lark borrows the last token's position for the end marker
        return token.end_pos or 0
    return token_start(token)


def _unclosed_paren(tokens: Iterable[Token], default: int) -> int:
    """Offset of the innermost '(' that is never closed."""
    opened: list[int] = []
    for token in tokens:
        if token.type == "LPAR":
            opened.append(token_start(token))
        elif token.type == "RPAR" and opened:
            opened.pop()
    return opened[-1] if opened else default
