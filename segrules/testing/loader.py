"""Read a test file: YAML with positions -> validated :class:`SpecTestModel`, then check it
against its spec (segments, tables and keys it names exist).  Problems are diagnostics with
file:line:col, like the spec's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..diagnostics import Diagnostic
from ..errors import SpecError
from ..spec.loader import read_model_file
from ..spec.yamlpos import PositionIndex
from .model import SpecTestModel

TEST_SUFFIX = ".test.yaml"


@dataclass(frozen=True)
class SpecTestDocument:
    """A validated test file with its path, text and YAML positions."""

    model: SpecTestModel
    path: str
    text: str
    index: PositionIndex

    @property
    def spec_path(self) -> Path:
        return Path(self.path).parent / self.model.spec


def read_test_file(path: str | Path) -> SpecTestDocument:
    """Parse and validate a test file. Raises :class:`SpecError` with every problem found."""
    path = Path(path)
    model, text, index = read_model_file(path, SpecTestModel, what="test file", codes=("SR131", "SR104"),
                                         shape="a test file must be a mapping with spec: and cases:")
    doc = SpecTestDocument(model, str(path), text, index)
    if not doc.spec_path.is_file():
        raise SpecError(f"spec file {doc.spec_path} not found (spec: is relative to the test file)",
                        span=index.value_span(("spec",)), code="SR131")
    return doc


def check_against_spec(doc: SpecTestDocument, spec) -> list[Diagnostic]:
    """Names in the test file that the spec does not have: segments, tables, parameters; cases
    without ``as_of``; expected keys without an entity row."""
    m, index, diags = spec.model, doc.index, []
    tables = {m.entity.table, *(s.table for s in m.sources.values())}
    known_params = set(m.params)
    for name in doc.model.params:
        if name not in known_params:
            diags.append(Diagnostic("SR305", f"unknown parameter {name!r}", index.key_span(("params", name)),
                                    hint=f"the spec declares: {', '.join(sorted(known_params)) or 'none'}"))
    for i, case in enumerate(doc.model.cases):
        at = ("cases", i)
        if case.as_of is None and doc.model.as_of is None:
            diags.append(Diagnostic("SR138", f"case {case.name!r} has no as_of (and the file has none)",
                                    index.key_span(at + ("name",)), hint="add as_of: 2025-06-30 to the case"))
        for name in case.params:
            if name not in known_params:
                diags.append(Diagnostic("SR305", f"unknown parameter {name!r}",
                                        index.key_span(at + ("params", name))))
        for table in case.data:
            if table not in tables:
                diags.append(Diagnostic("SR133", f"table {table!r} is not used by spec {m.name!r}",
                                        index.key_span(at + ("data", table)),
                                        hint=f"the spec reads: {', '.join(sorted(tables))}"))
        entity_keys = {str(row.get(m.entity.key)) for row in case.data.get(m.entity.table, [])}
        for key, expectation in case.expect.items():
            if str(key) not in entity_keys:
                diags.append(Diagnostic("SR134", f"case {case.name!r}: no {m.entity.table} row with "
                                        f"{m.entity.key} {key!r}", index.key_span(at + ("expect", key)),
                                        hint=f"add {{{m.entity.key}: {key}}} under data.{m.entity.table}"))
            for field in ("in", "not_in"):
                for j, segment in enumerate(expectation.in_ if field == "in" else expectation.not_in):
                    if segment not in m.segments:
                        diags.append(Diagnostic("SR132", f"unknown segment {segment!r}",
                                                index.value_span(at + ("expect", key, field, j)),
                                                hint=f"segments of {m.name}: {', '.join(m.segments)}"))
    return diags
