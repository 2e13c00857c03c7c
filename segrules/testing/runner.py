"""Run a test file: every case on in-memory DuckDB, membership compared with ``expect``, and
for each mismatch the values of every feature, aggregate and column the rule read."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis

from ..check.analyze import analyze
from ..compile import Plan
from ..diagnostics import Diagnostic, Span
from ..errors import SegrulesError, SpecError
from ..preview import explaining_nodes, explaining_value
from ..lang import ast as a
from .fixtures import fixture_schemas, fixture_tables
from .loader import TEST_SUFFIX, SpecTestDocument, check_against_spec, read_test_file


@dataclass(frozen=True)
class Failure:
    """One entity whose membership of one segment is not what the case expects."""

    key_name: str
    key: Any
    segment: str
    expected: bool
    rule: str
    values: dict[str, Any]
    span: Span | None

    def message(self, case: str) -> str:
        want = "in" if self.expected else "not in"
        return f"case {case!r}: {self.key_name} {self.key} expected {want} {self.segment}, but is{' not' * self.expected} a member"

    def diagnostic(self, case: str) -> Diagnostic:
        shown = "; ".join(f"{label} = {_show(v)}" for label, v in self.values.items())
        return Diagnostic("SR140", self.message(case), self.span,
                          hint=f"rule: {self.rule}" + (f" | values: {shown}" if shown else ""))


@dataclass
class CaseResult:
    name: str
    span: Span | None
    failures: list[Failure] = field(default_factory=list)
    checked: int = 0  # (key, segment) expectations compared

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class FileResult:
    """The outcome of one test file: case results, or the diagnostics that stopped it (bad input)."""

    path: str
    spec: str | None = None
    cases: list[CaseResult] = field(default_factory=list)
    errors: list[Diagnostic] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.errors and all(c.passed for c in self.cases)

    def diagnostics(self) -> list[Diagnostic]:
        """Errors and failures as diagnostics (for the github and json formats)."""
        return list(self.errors) + [f.diagnostic(c.name) for c in self.cases for f in c.failures]


def _show(value: Any) -> str:
    return "null" if value is None else repr(value) if isinstance(value, str) else str(value)


def tests_of(spec: str | Path) -> Path:
    """The test file of a spec: ``<stem>.test.yaml`` beside it."""
    spec = Path(spec)
    return spec.with_name(spec.name.rsplit(".", 1)[0] + TEST_SUFFIX)


def find_test_files(paths: list[str]) -> tuple[list[Path], list[Diagnostic]]:
    """Test files for command-line paths: a test file itself, a spec (its ``<stem>.test.yaml``
    beside it), or a folder (every test file under it)."""
    found, problems = [], []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found.extend(sorted(path.rglob(f"*{TEST_SUFFIX}")))
        elif path.name.endswith(TEST_SUFFIX):
            found.append(path)
        else:
            candidate = tests_of(path)
            if candidate.is_file():
                found.append(candidate)
            else:
                problems.append(Diagnostic("SR131", f"no test file for {path} (expected {candidate})"))
    return list(dict.fromkeys(found)), problems


def run_test_file(path: str | Path, registry, con=None) -> FileResult:
    """Load the test file and its spec and run every case (on ``con``, default: an in-memory
    DuckDB; the fixture tables reach it as in-memory tables). Never raises for bad input: the
    problems are in ``FileResult.errors``."""
    from ..api import load
    result = FileResult(str(path))
    try:
        doc = read_test_file(path)
        spec = load(doc.spec_path, registry=registry)
        result.spec = spec.path
        problems = check_against_spec(doc, spec)
        schemas, schema_problems = fixture_schemas(doc, spec)
        if problems or schema_problems:
            result.errors = problems + schema_problems
            return result
        _run_cases(doc, spec, schemas, result, con)
    except SegrulesError as exc:
        result.errors = list(exc.diagnostics)
    return result


def _run_cases(doc: SpecTestDocument, spec, schemas, result: FileResult, con=None) -> None:
    con = con if con is not None else ibis.duckdb.connect()  # the fixture tables reach it as memtables
    zone = ZoneInfo(spec.timezone)
    m = spec.model
    try:  # one schema per table for the whole file: check the spec once
        checked = analyze(spec.document, schemas, spec.registry.functions, spec.registry.namespaces,
                          spec.registry.entity_functions)
    except SegrulesError as exc:
        raise SpecError(diagnostics=list(exc.diagnostics) + [Diagnostic(
            "SR137", "the spec does not check against the fixture tables (types from the schema: blocks "
            "and the rows)", doc.index.key_span(("cases",)), hint="declare missing columns or fix their "
            "types under schema: in the test file")]) from None
    for i, case in enumerate(doc.model.cases):
        tables, problems = fixture_tables(doc, i, schemas, zone)
        if problems:
            result.errors.extend(problems)
            continue
        params = {**doc.model.params, **case.params}
        memtables = {name: ibis.memtable(table) for name, table in tables.items()}
        rows = _evaluate(spec, checked, con, memtables, case, doc.model.as_of, params)
        by_key = {str(row["key"]): row for row in rows}
        outcome = CaseResult(case.name, doc.index.key_span(("cases", i, "name")))
        for key, expectation in case.expect.items():
            row = by_key.get(str(key))
            for field_name, expected, segments in (("in", True, expectation.in_),
                                                   ("not_in", False, expectation.not_in)):
                for j, segment in enumerate(segments):
                    outcome.checked += 1
                    actual = bool(row and row["segments"][segment])
                    if actual != expected:
                        outcome.failures.append(Failure(
                            m.entity.key, key, segment, expected, m.segments[segment].where.strip(),
                            row["values"][segment] if row else {},
                            doc.index.value_span(("cases", i, "expect", key, field_name, j))))
        result.cases.append(outcome)


def _evaluate(spec, checked, con, tables, case, default_as_of, params) -> list[dict]:
    """Per entity: its key, membership of every expected segment, and the explaining values."""
    m = spec.model
    segments = list(dict.fromkeys(s for e in case.expect.values() for s in e.in_ + e.not_in))
    plan = Plan(checked, tables, spec.now(case.as_of or default_as_of), spec.params(params),
                dialect=getattr(con, "name", None))
    plan.build(segments, features=[])
    columns = {"key": plan.joined[m.entity.key]}
    labels: dict[str, list[tuple[str, str]]] = {}
    for s, segment in enumerate(segments):
        columns[f"s{s}"] = plan.segment(segment)
        labels[segment] = []
        for v, (label, node) in enumerate(explaining_nodes(checked, segment).items()):
            columns[f"v{s}_{v}"] = explaining_value(plan, node)
            labels[segment].append((label, f"v{s}_{v}"))
    used_params = {seg: {f"${n.name}": plan.params[n.name] for kind, name in checked.closure([("segment", seg)])
                         for n in (checked.segments[name] if kind == "segment" else checked.features[name]).walk()
                         if isinstance(n, a.Param)} for seg in segments}
    out = []
    for row in con.to_pyarrow(plan.joined.select(**columns)).to_pylist():
        out.append({"key": row["key"],
                    "segments": {seg: row[f"s{s}"] for s, seg in enumerate(segments)},
                    "values": {seg: {**{label: row[col] for label, col in labels[seg]}, **used_params[seg]}
                               for seg in segments}})
    return out
