from segrules.diagnostics import Diagnostic, Span, render
from segrules.errors import TypeCheckError


def test_render_quotes_line_and_puts_caret_under_span():
    text = "a: 1\nwhere: country > 5\n"
    d = Diagnostic("SR401", "cannot compare string with int64", Span("x.yaml", 2, 8, 2, 19), hint="quote it")
    shown = render(d, {"x.yaml": text})
    assert shown.splitlines() == [
        "x.yaml:2:8: error[SR401]: cannot compare string with int64",
        "   |",
        " 2 | where: country > 5",
        "   |        ^^^^^^^^^^^",
        "  = hint: quote it",
    ]


def test_error_carries_sorted_diagnostics():
    exc = TypeCheckError(diagnostics=[
        Diagnostic("SR1", "b", Span("f", 3, 1)), Diagnostic("SR2", "a", Span("f", 1, 4))])
    assert [d.code for d in exc.diagnostics] == ["SR2", "SR1"]
    assert str(exc) == "a"
