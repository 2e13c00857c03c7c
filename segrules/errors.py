"""The error types. Every failure a user can cause is a :class:`SegrulesError`.

Codes are stable so CI output can be grepped:

========  ==================================================
SR1xx     spec files: YAML syntax, unknown keys, bad values
SR2xx     expression syntax
SR3xx     names: unknown columns, sources, features, segments, parameters
SR4xx     types
SR5xx     references: cycles
SR6xx     plugins
SR7xx     connection and execution
SR8xx     sinks
========  ==================================================
"""

from __future__ import annotations

from .diagnostics import Diagnostic, Span, render_all, sort_key


class SegrulesError(Exception):
    """Base class. Carries the diagnostics that explain the failure."""

    default_code = "SR000"

    def __init__(
        self,
        message: str | None = None,
        *,
        diagnostics: list[Diagnostic] | None = None,
        span: Span | None = None,
        code: str | None = None,
        hint: str | None = None,
    ):
        if diagnostics is None:
            diagnostics = [Diagnostic(code or self.default_code, message or "", span, hint=hint)]
        self.diagnostics = sorted(diagnostics, key=sort_key)
        if message is None:
            message = self.diagnostics[0].message if self.diagnostics else self.__class__.__name__
        super().__init__(message)

    def render(self, sources: dict[str, str] | None = None) -> str:
        return render_all(self.diagnostics, sources)


class SpecError(SegrulesError):
    """The spec file is not valid YAML or does not match the spec format."""

    default_code = "SR100"


class ExprSyntaxError(SegrulesError):
    """An expression does not parse."""

    default_code = "SR200"


class TypeCheckError(SegrulesError):
    """Names do not resolve, types do not fit, or references form a cycle."""

    default_code = "SR400"


class PluginError(SegrulesError):
    """A plugin failed to load, or two plugins claim the same name."""

    default_code = "SR600"


class CompileError(SegrulesError):
    """A construct has no translation for the target (explicit gap, never silent)."""

    default_code = "SR450"


class BackendError(SegrulesError):
    """Connecting to or executing on the database failed."""

    default_code = "SR700"


class SinkError(SegrulesError):
    """Writing an audience to its destination failed."""

    default_code = "SR800"


def raise_if_errors(diags: list[Diagnostic], error_type: type[SegrulesError]) -> None:
    """Collect, grade, raise once: raise ``error_type`` carrying all diagnostics if any is an error."""
    if any(d.is_error for d in diags):
        raise error_type(diagnostics=list(diags))
