"""Output for machines, shared by every command that has a ``--format``: JSON, GitHub Actions
annotations, JUnit XML. Text output uses the one renderer in :mod:`segrules.diagnostics`.

* ``github``: one annotation per finding, at its position; the other places it involves
  (``Diagnostic.related``) are named in its message, not annotated again.
* ``junit``: one shape for ``validate``, ``test`` and the plugins' commands: a ``<testsuites>``
  root with the totals, a ``<testsuite>`` per file, a ``<testcase>`` per spec (or per test case),
  and at most one ``<failure>`` per test case holding every diagnostic of it (an ``<error>`` when
  it could not run at all)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .diagnostics import Diagnostic, render

FORMATS = ("text", "json", "github", "junit")


def _github_escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _github_property(text: str) -> str:
    return _github_escape(text).replace(":", "%3A").replace(",", "%2C")


def github_annotation(d: Diagnostic, file: str) -> str:
    """``::error file=F,line=L,col=C,title=CODE::message (hint) (also: F:L:C, ...)``."""
    level = {"error": "error", "warning": "warning"}.get(d.severity.value, "notice")
    span = d.span
    loc = f"file={_github_property(span.file or file)},line={span.line},col={span.column}" if span \
        else f"file={_github_property(file)}"
    if span and span.end_line:
        loc += f",endLine={span.end_line},endColumn={span.end_column}"
    message = d.message + (f" ({d.hint})" if d.hint else "")
    related = [str(r) for r in d.related if r]
    if related:
        message += f" (also: {', '.join(related)})"
    return f"::{level} {loc},title={d.code}::{_github_escape(message)}"


def format_github(results: dict[str, list[Diagnostic]]) -> str:
    """GitHub Actions workflow commands, one per diagnostic."""
    return "\n".join(github_annotation(d, file) for file, diags in results.items() for d in diags)


def format_json(results: dict[str, list[Diagnostic]]) -> str:
    payload = {
        "valid": not any(d.is_error for ds in results.values() for d in ds),
        "files": [
            {"file": file, "valid": not any(d.is_error for d in diags),
             "diagnostics": [d.to_dict() for d in diags]}
            for file, diags in results.items()
        ],
    }
    return json.dumps(payload, indent=2, default=str)


@dataclass
class JunitCase:
    """One ``<testcase>``: ``failures`` go into its one ``<failure>``, ``errors`` (it could not
    run) into its one ``<error>``, ``output`` (warnings, notes) into ``<system-out>``."""

    name: str
    classname: str
    failures: list[Diagnostic] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)
    output: str = ""


def _problem(case, tag: str, diags: list[Diagnostic]) -> None:
    from xml.etree import ElementTree as ET
    first = diags[0]
    more = f" (and {len(diags) - 1} more)" if len(diags) > 1 else ""
    element = ET.SubElement(case, tag, message=f"{first.code}: {first.message}{more}",
                            type=first.code if len(diags) == 1 else ",".join(dict.fromkeys(d.code for d in diags)))
    element.text = "\n\n".join(render(d) for d in diags)


def junit_xml(title: str, suites: dict[str, list[JunitCase]]) -> str:
    """The JUnit document: ``<testsuites name=title>``, a ``<testsuite>`` per ``suites`` key."""
    from xml.etree import ElementTree as ET
    root = ET.Element("testsuites", name=title)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for name, cases in suites.items():
        counts = {"tests": len(cases), "failures": sum(bool(c.failures) and not c.errors for c in cases),
                  "errors": sum(bool(c.errors) for c in cases)}
        suite = ET.SubElement(root, "testsuite", name=name, **{k: str(v) for k, v in counts.items()})
        for c in cases:
            case = ET.SubElement(suite, "testcase", classname=c.classname, name=c.name)
            if c.errors:
                _problem(case, "error", c.errors)
            elif c.failures:
                _problem(case, "failure", c.failures)
            if c.output:
                ET.SubElement(case, "system-out").text = c.output
        totals = {k: totals[k] + counts[k] for k in totals}
    for key, value in totals.items():
        root.set(key, str(value))
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def format_junit(results: dict[str, list[Diagnostic]], title: str = "segrules validate") -> str:
    """A ``<testsuite>`` per file with one ``<testcase>`` (the spec): its errors in one
    ``<failure>``, its warnings in ``<system-out>``."""
    classname = title.replace(" ", ".")
    return junit_xml(title, {file: [JunitCase(file, classname, failures=[d for d in diags if d.is_error],
                                              output="\n\n".join(render(d) for d in diags if not d.is_error))]
                             for file, diags in results.items()})
