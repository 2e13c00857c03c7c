"""The syntax-error catalogue is the test: every example gives its entry's code and message."""

from __future__ import annotations

import re
import string

import pytest

from segrules.errors import ExprSyntaxError
from segrules.lang import parse_expr
from segrules.lang.parser import Parser
from segrules.lang.positions import SourceMap
from segrules.lang.syntax_errors import CATALOGUE, KINDS

EXAMPLES = [pytest.param(kind, text, id=f"{kind.key}:{text[:30]!r}") for kind in CATALOGUE for text in kind.examples]


def diagnostic_for(text: str):
    with pytest.raises(ExprSyntaxError) as info:
        parse_expr(text)
    (diag,) = info.value.diagnostics
    return diag


def _template_regex(template: str) -> str:
    parts = [re.escape(literal) + (".*" if field is not None else "") for literal, field, _, _ in string.Formatter().parse(template)]
    return "".join(parts)


@pytest.mark.parametrize("kind, text", EXAMPLES)
def test_syntax_errors_catalogue_examples(kind, text):
    diag = diagnostic_for(text)
    assert diag.code == kind.code, f"{text!r}: {diag.message}"
    assert re.fullmatch(_template_regex(kind.message), diag.message, re.DOTALL), diag.message
    assert diag.span.line == 1
    assert 1 <= diag.span.column <= len(text) + 1
    assert diag.span.end_column > diag.span.column


def test_syntax_errors_codes_and_keys_are_unique_and_stable_shaped():
    codes = [kind.code for kind in CATALOGUE]
    assert len(set(codes)) == len(codes)
    assert len(KINDS) == len(CATALOGUE)
    assert all(re.fullmatch(r"SR2\d\d", code) for code in codes)
    assert all(kind.examples for kind in CATALOGUE)


def test_syntax_errors_every_state_example_is_learned_by_its_own_entry():
    reporter = Parser().reporter
    learned = dict((kind.key, states) for kind, states in reporter.learned_states)
    for kind in CATALOGUE:
        if kind.match == "state":
            assert learned[kind.key], kind.key


# Each case: the text, then a line with a caret under the column the error must point at.
CARETS = [
    ("SR201", "(a and b\n^"),
    ("SR201", "x in (1, (2)\n     ^"),
    ("SR201", "count(orders where x == 1\n     ^"),
    ("SR202", "a and\n     ^"),
    ("SR202", "a and )\n      ^"),
    ("SR203", "== 1\n^"),
    ("SR204", "x >= and y\n     ^"),
    ("SR205", "a < b < c\n      ^"),
    ("SR206", "x   y\n    ^"),
    ("SR207", "(a))\n   ^"),
    ("SR208", "  # nothing\n^"),
    ("SR209", "x in 1\n     ^"),
    ("SR211", "x between 1 or 2\n            ^"),
    ("SR213", "a.b.c\n   ^"),
    ("SR220", "x == 'abc\n     ^"),
    ("SR221", "x = 1\n  ^"),
    ("SR223", "a && b\n  ^"),
    ("SR230", "count(o within 30days)\n                 ^^^^"),
    ("SR231", "x > 1.5h\n    ^^^^"),
    ("SR232", "x == 'a\\tb'\n       ^^"),
    ("SR234", "d > date('2024-02-30')\n         ^^^^^^^^^^^^"),
    ("SR236", "segment(vip)\n        ^^^"),
    ("SR240", "sum(orders.amount * 2)\n    ^^^^^^^^^^^^^^^^^"),
    ("SR241", "lower(x within 3d)\n        ^^^^^^^^^"),
    ("SR242", "count(o between 1 and 2 within 3d)\n        ^^^^^^^^^^^^^^^"),
    ("SR200", "a, b\n ^"),
]


@pytest.mark.parametrize("code, case", CARETS, ids=[c[1].split("\n")[0] for c in CARETS])
def test_syntax_errors_point_at_the_fault(code, case):
    text, carets = case.split("\n")
    diag = diagnostic_for(text)
    assert diag.code == code, diag.message
    start = carets.index("^")
    assert diag.span.column == start + 1
    if len(carets.strip()) > 1:
        assert diag.span.end_column == start + len(carets.strip()) + 1


def test_syntax_errors_in_a_multi_line_rule_point_into_the_file():
    text = "status == 'paid'\n  and (amount > 10\n  or vip"
    with pytest.raises(ExprSyntaxError) as info:
        parse_expr(text, source_map=SourceMap.for_text(text, "spec.yaml", line=7, column=12))
    (diag,) = info.value.diagnostics
    assert (diag.code, str(diag.span)) == ("SR201", "spec.yaml:8:7")
    assert "add ')'" in diag.hint


def test_syntax_errors_render_with_a_caret():
    with pytest.raises(ExprSyntaxError) as info:
        parse_expr("x = 1")
    rendered = info.value.render({"<string>": "x = 1"})
    assert "error[SR221]: '=' is not an operator; use '=='" in rendered


def test_syntax_errors_uppercase_keyword_gets_a_hint():
    diag = diagnostic_for("x == 1 AND y == 2")
    assert diag.code == "SR206"
    assert diag.hint == "keywords are lowercase: write 'and'"


def test_syntax_errors_fallback_lists_what_was_expected():
    diag = diagnostic_for("x where y")
    assert diag.message == "unexpected 'where'"
    assert "'and'" in diag.hint and "a comparison" in diag.hint


def test_syntax_errors_hide_lark():
    with pytest.raises(ExprSyntaxError) as info:
        parse_expr("x ==")
    assert info.value.__suppress_context__
    assert info.value.__cause__ is None
