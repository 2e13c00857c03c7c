"""Positions and diagnostics, and the one renderer that shows them.

Every stage reports problems as :class:`Diagnostic` values carrying a
:class:`Span` (file, 1-based line and column).  They are collected, graded
by :class:`Severity` and raised once (see :mod:`segrules.errors`); the CLI
renders them with :func:`render` as ``file:line:col``, the quoted source line
and a caret under the fault.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, order=True)
class Span:
    """A region of a source file. Lines and columns are 1-based; ``end_*`` is exclusive."""

    file: str | None
    line: int
    column: int
    end_line: int | None = None
    end_column: int | None = None

    def __str__(self) -> str:
        return f"{self.file or '<string>'}:{self.line}:{self.column}"


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a spec. ``code`` is stable (``SR2xx`` syntax, ...) so CI can grep it.

    ``check``: the spec is valid but a check of it failed (a taxonomy is not exclusive): exit
    code 1, where an invalid spec is 2.  ``related``: other places the problem involves (the
    other segment of an overlapping pair), shown as notes and annotated in CI."""

    code: str
    message: str
    span: Span | None = None
    severity: Severity = Severity.ERROR
    hint: str | None = None
    source: str = field(default="segrules", compare=False)
    check: bool = field(default=False, compare=False)
    related: tuple[Span, ...] = field(default=(), compare=False)

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict:
        span = self.span
        return {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "hint": self.hint,
            "file": span.file if span else None,
            "line": span.line if span else None,
            "column": span.column if span else None,
            "end_line": span.end_line if span else None,
            "end_column": span.end_column if span else None,
            "source": self.source,
            "check": self.check,
            "related": [{"file": r.file, "line": r.line, "column": r.column} for r in self.related if r],
        }


def _source_line(span: Span, sources: dict[str, str] | None) -> str | None:
    text = None
    if sources and span.file in sources:
        text = sources[span.file]
    elif span.file:
        try:
            text = Path(span.file).read_text(encoding="utf-8")
        except OSError:
            return None
    if text is None:
        return None
    lines = text.splitlines()
    if 1 <= span.line <= len(lines):
        return lines[span.line - 1]
    return None


def render(diag: Diagnostic, sources: dict[str, str] | None = None) -> str:
    """Render one diagnostic: ``file:line:col: severity[code]: message``, the line, a caret."""
    head = f"{diag.severity.value}[{diag.code}]: {diag.message}"
    if diag.span is None:
        out = [head]
    else:
        out = [f"{diag.span}: {head}"]
        line = _source_line(diag.span, sources)
        if line is not None:
            width = 1
            if diag.span.end_line == diag.span.line and diag.span.end_column:
                width = max(1, diag.span.end_column - diag.span.column)
            number = str(diag.span.line)
            pad = " " * len(number)
            out.append(f" {pad} |")
            out.append(f" {number} | {line}")
            out.append(f" {pad} | {' ' * (diag.span.column - 1)}{'^' * width}")
    if diag.hint:
        out.append(f"  = hint: {diag.hint}")
    out.extend(f"  = see: {span}" for span in diag.related if span)
    return "\n".join(out)


def exit_code(diags: list[Diagnostic], strict: bool = False) -> int:
    """0 when nothing failed; 2 when the spec is invalid; 1 when it is valid but a check failed.
    ``strict``: warnings count as failures."""
    failed = [d for d in diags if d.is_error or (strict and d.severity is Severity.WARNING)]
    if not failed:
        return 0
    return 1 if all(d.check for d in failed) else 2


def render_all(diags: list[Diagnostic], sources: dict[str, str] | None = None) -> str:
    return "\n\n".join(render(d, sources) for d in diags)


def sort_key(diag: Diagnostic) -> tuple:
    span = diag.span
    return (span.file or "", span.line, span.column) if span else ("", 0, 0)
