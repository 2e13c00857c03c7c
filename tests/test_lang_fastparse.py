"""The parser's shortcuts (pass-through rules skipped, direct AST building) change nothing:
the same nodes with the same spans, and the same errors, as Lark's own tree + Transformer."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lark.exceptions import UnexpectedInput, VisitError

from segrules.errors import ExprSyntaxError
from segrules.lang import ast, unparse
from segrules.lang.parser import AstBuilder, build_lark, default_parser
from segrules.lang.positions import SourceMap
from segrules.lang.syntax_errors import SyntaxErrorReporter
from strategies_ast import expressions, token_text

_PLAIN = build_lark()
_REPORTER = SyntaxErrorReporter(_PLAIN)


def reference_parse(text: str):
    """The plain way: Lark builds its whole tree, the Transformer walks it."""
    source_map = SourceMap.for_text(text)
    try:
        tree = _PLAIN.parse(text)
    except UnexpectedInput as exc:
        raise _REPORTER.explain(exc, text, source_map) from None
    try:
        return AstBuilder(source_map).transform(tree)
    except VisitError as exc:  # as Parser.parse did before it built the AST itself
        if isinstance(exc.orig_exc, ExprSyntaxError):
            raise exc.orig_exc from None
        raise


def outcome(parse, text: str):
    try:
        node = parse(text)
    except ExprSyntaxError as exc:
        return "error", [(d.code, d.message, d.span) for d in exc.diagnostics]
    except Exception as exc:  # noqa: BLE001 - compared, not hidden
        return "crash", type(getattr(exc, "orig_exc", exc)).__name__
    return "ok", [(repr(n), n.span) for n in node.walk()]


def spaced(text: str, draw_space) -> str:
    """``text`` with extra blanks and newlines between tokens (outside string literals)."""
    parts = re.split(r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")", text)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(part)
        else:
            out.append(re.sub(r"([()+*/%,=<>!-]+)", lambda m: draw_space() + m[1] + draw_space(), part))
    return "".join(out)


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(expressions(), st.data())
def test_same_nodes_and_spans_as_the_plain_lark_tree(expr, data):
    text = unparse(expr)
    spaces = st.sampled_from(["", " ", "  ", "\n", " \n  "])
    for variant in (text, f"( {text} )", f"(({text}))", spaced(text, lambda: data.draw(spaces))):
        assert outcome(default_parser().parse, variant) == outcome(reference_parse, variant), variant


@settings(max_examples=500, deadline=None)
@given(token_text)
def test_same_errors_as_the_plain_lark_tree(text):
    assert outcome(default_parser().parse, text) == outcome(reference_parse, text)


def test_deep_nesting():
    assert outcome(default_parser().parse, "(" * 3000 + "1" + ")" * 3000)[0] == "ok"
    for text in ("not (true and " * 3000 + "true" + ")" * 3000, " + ".join(["1"] * 3000)):
        kind, diagnostics = outcome(default_parser().parse, text)
        assert kind == "error" and diagnostics[0][0] == "SR250"


def test_a_run_of_3000_not_parses_as_one_level():
    node = default_parser().parse("not " * 3000 + "true")
    assert sum(1 for n in node.walk() if isinstance(n, ast.Not)) == 3000
