"""The ``cohorts:`` and ``experiments:`` sections' own checks (codes COH1xx), positioned in the spec:
run by ``segrules validate`` and again before anything is built, so a broken section never runs.
Expression errors (syntax, names, types) are the core's: the sections hand their expressions to
segrules (:mod:`.config`)."""

from __future__ import annotations

from segrules.plugin import Diagnostic, PluginError, Severity

from .config import COHORTS, EXPERIMENTS


def _diag(code, message, span, hint=None, severity=Severity.ERROR):
    return Diagnostic(code, message, span, severity=severity, hint=hint, source="cohorts")


def cohort_diagnostics(document, checked=None) -> list[Diagnostic]:
    """Every problem of the ``cohorts:`` section that the core checks do not see."""
    config = getattr(document.model, COHORTS, None) or {}
    diags = []
    for name, c in config.items():
        source = document.model.sources.get(c.source)
        if source is not None and not source.time:
            diags.append(_diag("COH101", f"cohorts.{name}: the activity source {c.source!r} has no time column, "
                               "so activities cannot be put in periods", document.index.value_span(
                                   (COHORTS, name, "activity")), hint=f"add time: to sources.{c.source}"))
    return diags


def _metric_type(checked, name):
    found = checked.source_expressions.get((EXPERIMENTS, f"{name}.metric")) if checked is not None else None
    return None if found is None else (found[1], checked.type_of(found[1]))


def experiment_diagnostics(document, checked=None) -> list[Diagnostic]:
    """Every problem of the ``experiments:`` section that the core checks do not see."""
    config = getattr(document.model, EXPERIMENTS, None) or {}
    index, diags = document.index, []
    for name, e in config.items():
        split = e.split
        if split.control is not None and split.control not in split.groups:
            diags.append(_diag("COH102", f"experiments.{name}: control {split.control!r} is not one of the groups "
                               f"({', '.join(split.groups)})", index.value_span((EXPERIMENTS, name, "split",
                                                                                 "control"))))
        typed = _metric_type(checked, name)
        if typed is not None and typed[1] is not None:
            node, t = typed
            if not (t.is_numeric() or t.is_boolean()):
                diags.append(_diag("COH103", f"experiments.{name}.metric must be a number (compared by its mean) or "
                                   f"true/false (compared as a proportion), got {t}", node.span,
                                   hint="e.g. count(events where name == 'project_created')"))
    return diags


def checked_entry(ctx, name: str):
    """The section entry ``name`` of a build context, after the section's own checks (a broken
    section raises its diagnostics instead of running)."""
    check = cohort_diagnostics if ctx.namespace == COHORTS else experiment_diagnostics
    errors = [d for d in check(ctx.checked.document, ctx.checked) if d.is_error]
    if errors:
        raise PluginError(diagnostics=errors)
    return ctx.config[name]
