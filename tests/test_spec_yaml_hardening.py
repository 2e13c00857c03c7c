"""The YAML loader refuses what would make it explode or crash (issue 12): alias bombs, tags
whose constructor fails, NUL and lone surrogates; each with a positioned diagnostic."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segrules
from segrules.errors import ExprSyntaxError, SpecError
from segrules.lang import parse_expr
from segrules.spec import parse_spec
from segrules.spec.yamlguard import MAX_ALIAS_NODES
from segrules.spec.yamlpos import load_yaml

CORPUS = Path(__file__).parent / "fuzz_corpus"

SPEC = """\
version: 1
name: t
entity: {table: people, key: id}
segments:
  adults: {where: age >= 18}
schema:
  people: {id: int64, age: int64, name: string}
"""


def _error(text: str, path: str = "spec.yaml") -> SpecError:
    with pytest.raises(SpecError) as info:
        parse_spec(text, path)
    info.value.render({path: text})  # the one renderer copes
    return info.value


def _only(exc: SpecError, code: str):
    assert [d.code for d in exc.diagnostics] == [code], exc.render()
    return exc.diagnostics[0]


# --- aliases --------------------------------------------------------------------------------
def test_yaml_alias_bomb_is_refused_with_its_position():
    """Nine levels of ten aliases (10**9 leaves): refused at the first alias past the budget,
    counted without expanding, so with little memory."""
    text = (CORPUS / "yaml_alias_bomb.yaml").read_text()
    tracemalloc.start()
    try:
        exc = _error(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    d = _only(exc, "SR150")
    assert "more than 10,000 nodes" in d.message
    line = text.splitlines()[d.span.line - 1]
    assert line[d.span.column - 1:].startswith("*lol"), (d.span, line)
    assert peak < 5_000_000, f"refusing the bomb allocated {peak:,} bytes"


def test_yaml_alias_inside_its_own_anchor_is_refused():
    d = _only(_error("a: &a [1, *a]\n"), "SR150")
    assert "recursive" in d.message and (d.span.line, d.span.column) == (1, 11)


def test_yaml_aliases_within_the_budget_load():
    """Three levels of ten (1,110 nodes added) stay well inside the budget: the data is the
    expansion, and the index points every copy at the anchored text."""
    text = ("a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n")
    data, index = load_yaml(text, "f.yaml")
    assert 1110 < MAX_ALIAS_NODES
    assert len(data["c"]) == 10 and data["c"][9][9] == ["x"] * 10
    assert index.value_span(("c", 9, 9, 0)).line == 1


def test_yaml_merge_key_defaults_keep_working():
    text = SPEC.replace("  adults: {where: age >= 18}\n", """\
  adults: &base
    description: grown-ups
    tags: [core]
    where: age >= 18
  named:
    <<: *base
    where: name is not null
  also:
    <<: *base
""")
    spec = segrules.load_text(text)
    segs = spec.model.segments
    assert segs["named"].where == "name is not null" and segs["named"].tags == ["core"]
    assert segs["also"].where == "age >= 18" and segs["also"].description == "grown-ups"
    assert not [d for d in spec.validate() if d.is_error]


# --- tags -----------------------------------------------------------------------------------
@pytest.mark.parametrize("text, message, position", [
    ("version: 1\nname: !!bool x\n", "'x' is not a valid !!bool value", (2, 7)),
    ("version: 1\nname: !!timestamp x\n", "'x' is not a valid !!timestamp value", (2, 7)),
    ("!!int ", "'' is not a valid !!int value", (1, 1)),
    ("version: 1\nname: !foo x\n", "YAML tag !foo is not supported", (2, 7)),
    ("version: 1\nname: !!set {a: null}\n", "YAML tag !!set is not supported", (2, 7)),
    ("version: 1\nname: !!binary aGk=\n", "YAML tag !!binary is not supported", (2, 7)),
    ("version: 1\nname: !!python/object:os.system x\n", "!!python/object:os.system is not supported", (2, 7)),
    ("version: 1\n!!bool x: 1\n", "'x' is not a valid !!bool value", (2, 1)),
    ("version: 1\nname: !!map x\n", "!!map does not fit this scalar", (2, 7)),
    ("version: 1\nname: !!str [a]\n", "!!str does not fit this sequence", (2, 7)),
    ("version: 1\nname: !!int '1.5'\n", "'1.5' is not a valid !!int value", (2, 7)),
], ids=["bool", "timestamp", "only-int", "custom", "set", "binary", "python", "key", "map-on-scalar",
        "str-on-list", "int-on-float"])
def test_yaml_tags_are_refused_with_their_position(text, message, position):
    d = next(d for d in _error(text).diagnostics if d.code == "SR151")
    assert message in d.message and (d.span.line, d.span.column) == position


def test_yaml_tag_inside_a_complex_key_is_not_constructed():
    """A mapping used as a key is refused as a key (SR102), never constructed."""
    exc = _error("version: 1\n? {a: !!bool x}\n: 1\n")
    assert "SR102" in [d.code for d in exc.diagnostics]


def test_yaml_harmless_tags_are_honoured():
    text = SPEC.replace("version: 1", "version: !!int 1").replace(
        "name: t", "name: !!str t").replace("where: age >= 18", "where: !!str true") + \
        "params: {n: !!float 5, s: !!str 5, b: !!bool yes, d: !!timestamp 2024-01-31}\n"
    model = segrules.load_text(text).model
    assert model.version == 1 and model.name == "t" and model.segments["adults"].where == "true"
    assert model.params["n"] == 5.0 and isinstance(model.params["n"], float)
    assert model.params["s"] == "5" and model.params["b"] is True
    assert str(model.params["d"]) == "2024-01-31"


def test_yaml_tags_in_a_test_file_are_refused(tmp_path):
    from segrules.testing.loader import read_test_file

    (tmp_path / "s.yaml").write_text(SPEC)
    path = tmp_path / "s.test.yaml"
    path.write_text("spec: s.yaml\nas_of: !!timestamp soon\ncases: []\n")
    with pytest.raises(SpecError) as info:
        read_test_file(path)
    assert [(d.code, d.span.line) for d in info.value.diagnostics] == [("SR151", 2)]


# --- characters -----------------------------------------------------------------------------
@pytest.mark.parametrize("text, position", [
    ("\ud800", (1, 1)),
    ("version: 1\nname: a\udfffb\n", (2, 8)),
    ("version: 1\nname: ok\x00\n", (2, 9)),
])
def test_yaml_lone_surrogate_and_nul_in_the_file_are_refused_with_their_position(text, position):
    with pytest.raises(SpecError) as info:
        segrules.load_text(text)
    d = info.value.diagnostics[0]
    assert (d.code, (d.span.line, d.span.column)) == ("SR152", position)


@pytest.mark.parametrize("escape", ["\\0", "\\x00", "\\u0000"])
def test_yaml_nul_in_a_string_is_refused_with_its_position(escape):
    text = SPEC.replace("where: age >= 18", f'where: "name == \'a{escape}b\'"')
    d = _only(_error(text), "SR152")
    assert "NUL" in d.message and (d.span.line, d.span.column) == (5, 19)


def test_expr_nul_in_a_string_literal_is_refused_with_its_position():
    with pytest.raises(ExprSyntaxError) as info:
        parse_expr("name == 'a\x00b'")
    d = info.value.diagnostics[0]
    assert d.code == "SR226" and d.span.column == 11


def test_yaml_merge_key_does_not_hide_a_duplicate_own_key():
    text = "a: &a {x: 1}\nb:\n  <<: *a\n  y: 1\n  y: 2\n"
    d = _only(_error(text), "SR103")
    assert (d.span.line, d.span.column) == (5, 3)


def test_yaml_merge_keys_take_the_first_source_then_own_keys_win():
    data, _ = load_yaml("a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  z: 3\n", "f.yaml")
    assert data["c"] == {"x": 1, "y": 1, "z": 3}


@pytest.mark.parametrize("text, position, code_point", [
    ("version: 1\nname: a\x01b\n", (2, 8), "U+0001"),
    ("a: é\ufffe\n", (1, 5), "U+FFFE"),
    ("a: \x85\x9f\n", (1, 5), "U+009F"),
])
def test_yaml_character_yaml_forbids_is_reported_at_its_position(text, position, code_point):
    d = _only(_error(text), "SR101")
    assert code_point in d.message and (d.span.line, d.span.column) == position


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.integers(1, 9), st.integers(1, 12), st.booleans())
def test_yaml_alias_budget_is_exact(levels, width, mapping):
    """Chains of aliases ``l_i = [*l_{i-1}] * width``: the file loads exactly when what the aliases
    add stays within MAX_ALIAS_NODES, and is refused at an alias of the last level otherwise."""
    def item(i):
        return "{" + ", ".join(f"k{j}: *l{i - 1}" for j in range(width)) + "}" if mapping else \
            "[" + ", ".join([f"*l{i - 1}"] * width) + "]"
    lines = ["l0: &l0 x"] + [f"l{i}: &l{i} {item(i)}" for i in range(1, levels)]
    text = "\n".join(lines) + "\n"
    size, added = 1, 0  # nodes of l_{i-1}; nodes the aliases add so far
    for _ in range(1, levels):
        added += width * size
        size = 1 + width * (size + mapping)  # a mapping's keys are nodes too
    if added <= MAX_ALIAS_NODES:
        data, _ = load_yaml(text, "f.yaml")
        assert len(data) == levels
    else:
        d = _only(_error(text, "f.yaml"), "SR150")
        assert lines[d.span.line - 1].startswith(f"l{d.span.line - 1}: ")
        assert text.splitlines()[d.span.line - 1][d.span.column - 1] == "*"


def test_yaml_merge_key_bomb_is_refused_before_merging():
    """Merge keys copy the merged pairs into the mapping: nine levels of ten merges would copy
    10**9 pairs. Refused on the event count, before any mapping is flattened."""
    lines = ["m0: &m0 {k: v}"] + [f"m{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 10)}]}}" for i in range(1, 10)]
    tracemalloc.start()
    try:
        exc = _error("\n".join(lines) + "\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    d = _only(exc, "SR150")
    assert lines[d.span.line - 1].startswith(f"m{d.span.line - 1}: ") and peak < 5_000_000


def test_yaml_bomb_bench_command_in_the_docs_runs_as_shown():
    """docs/performance.md's bench/yaml_bomb.py: the same file and diagnostic (time and memory vary)."""
    import re
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    docs = (root / "docs" / "performance.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Loading hostile YAML"):]
    command = re.search(r"```sh\n(python bench/yaml_bomb\.py)\n```", section).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1).splitlines()
    result = subprocess.run([sys.executable, *command.split()[1:]], capture_output=True, text=True, cwd=root,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    number = r"[0-9.]+"
    assert re.fullmatch(re.escape(shown[0]).replace("0\\.2", number).replace("11", number), lines[0]), lines[0]
    assert lines[1] == shown[1]
