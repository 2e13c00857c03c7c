"""Output of ``segrules test``: text for people, json, github annotations, junit XML."""

from __future__ import annotations

import json

from ..diagnostics import render
from ..formats import JunitCase, format_github, junit_xml
from .runner import FileResult, _show


def format_text(results: list[FileResult]) -> str:
    lines = []
    for fr in results:
        if fr.errors:
            lines.append(f"ERROR {fr.path}")
            lines.extend(render(d) for d in fr.errors)
            continue
        for case in fr.cases:
            if case.passed:
                lines.append(f"ok    {fr.path} :: {case.name}")
                continue
            lines.append(f"FAIL  {fr.path} :: {case.name}")
            for f in case.failures:
                lines.append(f"  {f.span}: {f.key_name} {f.key}: expected {'in' if f.expected else 'not in'} "
                             f"{f.segment}, but {'is not' if f.expected else 'is'} a member")
                lines.append(f"    rule: {' '.join(f.rule.split())}")
                for label, value in f.values.items():
                    lines.append(f"    {label} = {_show(value)}")
    lines.append(summary(results))
    return "\n".join(lines)


def summary(results: list[FileResult]) -> str:
    cases = [c for fr in results for c in fr.cases]
    failed = sum(not c.passed for c in cases)
    errors = sum(bool(fr.errors) for fr in results)
    text = f"{len(cases) - failed} passed, {failed} failed"
    return text + (f", {errors} file{'s' * (errors != 1)} with errors" if errors else "")


def format_json(results: list[FileResult]) -> str:
    payload = {
        "passed": all(fr.passed for fr in results),
        "files": [{
            "file": fr.path, "spec": fr.spec, "passed": fr.passed,
            "errors": [d.to_dict() for d in fr.errors],
            "cases": [{
                "name": c.name, "passed": c.passed, "checked": c.checked,
                "failures": [{"key": f.key, "segment": f.segment, "expected": "in" if f.expected else "not_in",
                              "rule": f.rule, "values": f.values,
                              "line": f.span.line if f.span else None} for f in c.failures],
            } for c in fr.cases],
        } for fr in results],
    }
    return json.dumps(payload, indent=2, default=str)


def format_github_annotations(results: list[FileResult]) -> str:
    return format_github({fr.path: fr.diagnostics() for fr in results})


def format_junit(results: list[FileResult]) -> str:
    """The shape ``validate --format junit`` has (:func:`segrules.formats.junit_xml`): a test
    suite per file, a test case per case with every failed expectation in its one <failure>; a
    file that cannot run is one test case ``load`` with an <error>."""
    suites = {}
    for fr in results:
        cases = [JunitCase("load", fr.path, errors=list(fr.errors))] if fr.errors else []
        cases += [JunitCase(c.name, fr.path, failures=[f.diagnostic(c.name) for f in c.failures]) for c in fr.cases]
        suites[fr.path] = cases
    return junit_xml("segrules test", suites)


FORMATTERS = {"text": format_text, "json": format_json, "github": format_github_annotations, "junit": format_junit}
