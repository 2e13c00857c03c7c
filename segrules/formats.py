"""Diagnostics for machines: JSON, GitHub Actions annotations, JUnit XML (``validate --format``).
Text output uses the one renderer in :mod:`segrules.diagnostics`."""

from __future__ import annotations

import json

from .diagnostics import Diagnostic, render

FORMATS = ("text", "json", "github", "junit")


def _github_escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def format_github(results: dict[str, list[Diagnostic]]) -> str:
    """GitHub Actions workflow commands: ``::error file=F,line=L,col=C,title=CODE::message``."""
    lines = []
    for file, diags in results.items():
        for d in diags:
            level = {"error": "error", "warning": "warning"}.get(d.severity.value, "notice")
            span = d.span
            loc = f"file={span.file or file},line={span.line},col={span.column}" if span else f"file={file}"
            if span and span.end_line:
                loc += f",endLine={span.end_line},endColumn={span.end_column}"
            message = d.message + (f" ({d.hint})" if d.hint else "")
            lines.append(f"::{level} {loc},title={d.code}::{_github_escape(message)}")
            for other in d.related:  # the other segments involved get the annotation too
                if other:
                    lines.append(f"::{level} file={other.file or file},line={other.line},col={other.column},"
                                 f"title={d.code}::{_github_escape(message)}")
    return "\n".join(lines)


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


def format_junit(results: dict[str, list[Diagnostic]], title: str = "segrules validate") -> str:
    """One test suite, one test case per spec file; each error is a <failure>."""
    from xml.etree import ElementTree as ET

    suite = ET.Element("testsuite", name=title, tests=str(len(results)))
    failures = 0
    for file, diags in results.items():
        case = ET.SubElement(suite, "testcase", classname=title.replace(" ", "."), name=file)
        errors = [d for d in diags if d.is_error]
        for d in errors:
            failure = ET.SubElement(case, "failure", message=f"{d.code}: {d.message}", type=d.code)
            failure.text = render(d)
        failures += bool(errors)
        warnings = [d for d in diags if not d.is_error]
        if warnings:
            ET.SubElement(case, "system-out").text = "\n\n".join(render(d) for d in warnings)
    suite.set("failures", str(failures))
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)
