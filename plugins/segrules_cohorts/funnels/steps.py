"""A funnel step's text, ``SOURCE [where CONDITION]``, split into its source and condition, the
source expressions segrules checks for the section, and the section's own diagnostics (FNL1xx).

The condition is handed to segrules as the step's text with ``SOURCE where`` blanked out
(spaces, newlines kept), so the parser's offsets are those of the YAML value and an error in a
condition points at its column in the spec."""

from __future__ import annotations

import re
from dataclasses import dataclass

from segrules.plugin import Diagnostic, Severity, SourceExpression

from .config import SECTION, Funnel

_STEP = re.compile(r"\s*(?P<source>[A-Za-z_][A-Za-z0-9_]*)\s*(?:(?<=\s)where(?=[\s(])(?P<cond>.*\S.*))?\s*", re.S)


@dataclass(frozen=True)
class Step:
    source: str
    condition: str | None  # the step's text with "SOURCE where" blanked, or None: every row


def parse_step(text: str) -> Step | None:
    """``events where name == 'signup'`` -> Step('events', "             name == 'signup'"); None
    when the text is not ``SOURCE [where CONDITION]``."""
    match = _STEP.fullmatch(text)
    if match is None:
        return None
    if match.group("cond") is None:
        return Step(match.group("source"), None)
    start = match.start("cond")
    blank = "".join(c if c == "\n" else " " for c in text[:start])
    return Step(match.group("source"), blank + text[start:])


def step_key(funnel: str, i: int) -> str:
    return f"{funnel}.step{i + 1}"


def breakdown_key(funnel: str, i: int) -> str:
    return f"{funnel}.breakdown{i + 1}"


def funnel_expressions(name: str, funnel: Funnel) -> list[SourceExpression]:
    """The step conditions (over their source's rows) and the breakdowns (entity expressions)."""
    out = []
    for i, text in enumerate(funnel.steps):
        step = parse_step(text)
        if step is None:
            continue  # FNL101, from the validator
        path = (SECTION, name, "steps", i)
        # A step without a condition still declares its source, so that an unknown one is SR302.
        out.append(SourceExpression(step_key(name, i), step.source, step.condition or "true", path, path,
                                    expect="boolean"))
    for i, text in enumerate(funnel.breakdown):
        out.append(SourceExpression(breakdown_key(name, i), None, text, (SECTION, name, "breakdown", i)))
    return out


def _diag(code, message, span, hint=None):
    return Diagnostic(code, message, span, severity=Severity.ERROR, hint=hint, source="funnels")


def funnel_diagnostics(document, name: str) -> list[Diagnostic]:
    """FNL101 (a step that is not ``SOURCE [where CONDITION]``) and FNL102 (a step's source has no
    time column) for the funnel ``name``."""
    funnel, index, diags = document.model.funnels[name], document.index, []
    for i, text in enumerate(funnel.steps):
        path = (SECTION, name, "steps", i)
        step = parse_step(text)
        if step is None:
            diags.append(_diag("FNL101", f"funnels.{name}: step {i + 1} is not `SOURCE [where CONDITION]`",
                               index.value_span(path), hint="e.g. events where name == 'signup'"))
            continue
        source = document.model.sources.get(step.source)
        if source is not None and not source.time:
            diags.append(_diag("FNL102", f"funnels.{name}: step {i + 1} reads {step.source!r}, which has no "
                               "time column: steps are ordered by time", index.value_span(path),
                               hint=f"add time: to sources.{step.source}"))
    return diags


def section_diagnostics(document) -> list[Diagnostic]:
    """Every FNL1xx problem of the ``funnels:`` section (none without the section)."""
    config = getattr(document.model, SECTION, None)
    if config is None:
        return []
    return [d for name in config.names() for d in funnel_diagnostics(document, name)]
