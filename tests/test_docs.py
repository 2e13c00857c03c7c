"""The documentation is checked by tests (datasette's ``test_docs.py``): every CLI command and
option, hook, diagnostic code, built-in function and aggregate is documented; the ``--help``
output pasted in docs/cli.md is current; every spec in docs/ and segment_specs/examples/ loads and
validates; the example plugin in docs/examples/ is a file these tests import and run.

Regenerate the ``--help`` blocks of docs/cli.md with ``python tests/test_docs.py``.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
import sys
from pathlib import Path

import pytest
from doc_codes import source_codes

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXAMPLE_PLUGIN = DOCS / "examples" / "example_plugin.py"
EXAMPLE_SPECS = sorted(p for p in (ROOT / "segment_specs" / "examples").glob("*.yaml")
                       if not p.name.endswith(".test.yaml"))  # spec unit tests: tests/test_spec_tests.py
HELP_BLOCK = re.compile(r"(<!-- help: (?P<command>[\w-]+) -->\n```text\n)(?P<body>.*?)(```)", re.S)
YAML_BLOCK = re.compile(r"^```yaml\n(?P<body>.*?)^```", re.S | re.M)


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _sections(text: str, level: int = 2) -> dict[str, str]:
    """Heading text -> the text up to the next heading of the same or a higher level."""
    marks = list(re.finditer(rf"^#{{1,{level}}} (.+)$", text, re.M))
    out = {}
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        out[mark.group(1).strip()] = text[mark.end():end]
    return out


def _help(command: str) -> str:
    from click.testing import CliRunner

    from segrules.cli import main
    result = CliRunner().invoke(main, [command, "--help"], prog_name="segrules", terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


def _load_example_plugin():
    spec = importlib.util.spec_from_file_location("example_plugin", EXAMPLE_PLUGIN)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # pydantic resolves the section models' annotations through it
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def example_plugin():
    return _load_example_plugin()


@pytest.fixture(scope="module")
def docs_registry(example_plugin):
    import segrules
    return segrules.default_registry(plugins=[example_plugin], load_entrypoints=False)


# --- (a) every CLI command and option is in docs/cli.md -------------------------------------------
def _commands():
    """Every command, plugin commands included (``list_commands`` loads them)."""
    import click

    from segrules.cli import main
    ctx = click.Context(main)
    return sorted((name, main.get_command(ctx, name)) for name in main.list_commands(ctx))


def test_docs_cli_every_command_has_a_section():
    sections = _sections(_read("cli.md"))
    for name, _ in _commands():
        assert f"`segrules {name}`" in sections, f"docs/cli.md has no '## `segrules {name}`' heading"


@pytest.mark.parametrize("name", [name for name, _ in _commands()])
def test_docs_cli_every_option_in_its_section(name):
    section = _sections(_read("cli.md"))[f"`segrules {name}`"]
    command = dict(_commands())[name]
    for param in command.params:
        if param.param_type_name == "argument":
            assert param.human_readable_name in section, f"{name}: argument {param.human_readable_name}"
        else:
            for opt in param.opts + param.secondary_opts:
                assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", section), f"{name}: option {opt}"


def test_docs_cli_help_blocks_are_current():
    found = {m.group("command"): m.group("body") for m in HELP_BLOCK.finditer(_read("cli.md"))}
    assert sorted(found) == sorted(name for name, _ in _commands())
    for name, body in found.items():
        assert body == _help(name), f"docs/cli.md: --help of {name} changed; run python tests/test_docs.py"


# --- (b) every hook is in docs/plugins.md -----------------------------------------------------------
def test_docs_plugins_every_hook_documented():
    from segrules.plugin import hookspecs
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(fn, f"{hookspecs.PROJECT}_spec")]
    assert hooks, "no hookspecs found"
    headings = _sections(_read("plugins.md"), level=4)
    for hook in hooks:
        assert any(f"`{hook}`" in h for h in headings), f"docs/plugins.md has no heading for {hook}"



def test_docs_plugins_every_public_name_documented():
    """The reference section of docs/plugins.md lists exactly the names of ``segrules.plugin.__all__``
    (a name each table row, with a description)."""
    import segrules.plugin
    reference = _sections(_read("plugins.md"))["Reference: `segrules.plugin`"]
    rows = re.findall(r"^\| `([^`]+)` \| (.*) \|$", reference, re.M)
    documented = [name for name, what in rows if what.strip()]
    assert sorted(documented) == sorted(segrules.plugin.__all__)

# --- (c) every diagnostic code is in docs/errors.md, and only those -------------------------------
def test_docs_no_page_mentions_an_unknown_code():
    source = source_codes()
    for page in DOCS.glob("*.md"):
        unknown = set(re.findall(r"\bSR\d{3}\b", page.read_text(encoding="utf-8"))) - source
        assert not unknown, f"{page.name} mentions codes the source does not have: {sorted(unknown)}"


# --- (d) every built-in function and aggregate is in docs/language.md -----------------------------
def test_docs_language_every_function_and_aggregate():
    from segrules.builtin import FUNCTIONS
    from segrules.lang.ast import AGGREGATE_FUNCS
    text = _read("language.md")
    for name in list(FUNCTIONS) + list(AGGREGATE_FUNCS):
        assert re.search(rf"`{re.escape(name)}\(", text), f"docs/language.md does not show `{name}(...)`"


# --- (e) every spec in the docs loads and validates -------------------------------------------------
def _doc_specs():
    for page in sorted(DOCS.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        for m in YAML_BLOCK.finditer(text):
            body = m.group("body")
            lines = [ln for ln in body.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
            if lines and lines[0].startswith("version: 1") and re.search(r"^segments:", body, re.M):  # not segrules.yml
                line = text.count("\n", 0, m.start()) + 2
                yield pytest.param(body, f"docs/{page.name}:{line}", id=f"{page.name}:{line}")


@pytest.mark.parametrize("text,where", list(_doc_specs()))
def test_docs_yaml_spec_validates(text, where, docs_registry):
    import segrules
    from segrules.check import parse_expressions
    from segrules.diagnostics import render

    spec = segrules.load_text(text, where, registry=docs_registry)
    if spec.model.schema_ is not None:
        diags = spec.validate()
    else:  # no schema to check names against: the expressions must still parse
        diags = parse_expressions(spec.document)[2]
    errors = [d for d in diags if d.is_error]
    assert not errors, "\n\n".join(render(d, {where: text}) for d in errors)
    if spec.model.schema_ is not None:
        _runs_on_empty_tables(spec)


def _runs_on_empty_tables(spec):
    """The spec compiles, and its query runs on DuckDB tables with the schema: block's columns."""
    import ibis

    from segrules.plugin import to_ibis_schema
    con = ibis.duckdb.connect()
    for table, schema in spec.check().schemas.items():  # segrules' schemas: Ibis's at the boundary
        con.create_table(table, schema=to_ibis_schema(schema))
    assert spec.to_sql("duckdb", as_of="2026-10-01").startswith(("SELECT", "WITH"))  # one query
    wide = spec.evaluate(con, as_of="2026-10-01").to_pyarrow()
    assert wide.column_names == [spec.key, *spec.segments, *spec.features]


def test_docs_have_specs_to_check():
    assert len(list(_doc_specs())) >= 3


# --- (f) the example plugin is a file that runs -----------------------------------------------------
def _tables(con):
    import pyarrow as pa
    from datetime import datetime
    con.create_table("customers", pa.table({
        "customer_id": [1, 2, 3, 4],
        "email": ["ana@GMail.com", "bo@corp.io", "no-at-sign", None],
    }))
    con.create_table("orders", pa.table({
        "customer_id": [1, 1, 2],
        "ordered_at": [datetime(2026, 9, 2), datetime(2026, 9, 20), datetime(2026, 9, 25)],
        "amount": [10.0, 20.0, 5.0],
    }))


PLUGIN_SPEC = """\
version: 1
name: plugin_example
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
segments:
  gmail:
    where: domain(email) == 'gmail.com'
  no_domain:
    where: domain(email) is null
  gmail_buyers:
    where: segment('gmail') and count(orders within 30d) >= 2
  big_spenders:
    where: spend.band == 'high' or spend.total > 25
spend: {source: orders, amount: amount * 2, high: 50}
exports:
  audiences:
    - {segment: gmail_buyers, to: "%(dir)s/gmail_buyers.jsonl"}
"""


def test_docs_plugins_excerpts_are_from_the_example_plugin():
    source = EXAMPLE_PLUGIN.read_text(encoding="utf-8")
    excerpts = re.findall(r"<!-- excerpt -->\n```python\n(.*?)```", _read("plugins.md"), re.S)
    assert len(excerpts) == 7
    for excerpt in excerpts:
        assert excerpt in source, f"docs/plugins.md excerpt not in {EXAMPLE_PLUGIN.name}:\n{excerpt}"


def test_docs_plugins_testing_example_runs(example_plugin, monkeypatch):
    """The test shown under "Testing a plugin" passes, with the example plugin as my_plugin."""
    [code] = [c for c in re.findall(r"```python\n(.*?)```", _read("plugins.md"), re.S)
              if "def test_domain_function" in c]
    monkeypatch.setitem(sys.modules, "my_plugin", example_plugin)
    namespace: dict = {}
    exec(compile(code, "docs/plugins.md", "exec"), namespace)
    namespace["test_domain_function"]()


def test_docs_example_plugin_registers_every_hook(example_plugin, docs_registry):
    assert set(docs_registry.functions) == {"domain"}
    assert set(docs_registry.sections) == {"exports", "spend"}
    assert set(docs_registry.namespaces) == {"spend"}
    assert set(docs_registry.validators) == {"exports_refer_to_segments"}
    assert set(docs_registry.segment_outputs) == {"suppress"}
    assert set(docs_registry.sinks) == {"jsonl"}
    assert set(docs_registry.commands) == {"export"}
    assert docs_registry.problems == []
    assert {kind for kind, _ in docs_registry.owner} == {"functions", "sections", "namespaces", "validators",
                                                          "segment_outputs", "sinks", "commands"}


def test_docs_example_plugin_function_on_duckdb(docs_registry, tmp_path):
    import ibis

    import segrules
    con = ibis.duckdb.connect()
    _tables(con)
    spec = segrules.load_text(PLUGIN_SPEC % {"dir": tmp_path}, registry=docs_registry)
    assert spec.validate(con) == []
    rows = spec.evaluate(con, as_of="2026-10-01").to_pyarrow().to_pylist()
    assert [(r["customer_id"], r["gmail"], r["no_domain"], r["gmail_buyers"]) for r in rows] == [
        (1, True, False, True), (2, False, False, False), (3, False, True, False), (4, False, True, False)]
    # spend.total = 2 * amount: customer 1 spent 60 (high), customer 2 spent 10, the others none
    assert [r["big_spenders"] for r in rows] == [True, False, False, False]
    assert [r["big_spenders"] for r in spec.evaluate(con, as_of="2026-09-10").to_pyarrow().to_pylist()] == [
        False, False, False, False]  # as of 10 September customer 1 had spent 20


def test_docs_example_plugin_segment_output_suppresses(docs_registry, tmp_path):
    import ibis

    import segrules
    con = ibis.duckdb.connect()
    _tables(con)
    text = (PLUGIN_SPEC % {"dir": tmp_path}).replace("exports:\n", "exports:\n  suppress: big_spenders\n")
    spec = segrules.load_text(text, registry=docs_registry)
    assert spec.validate(con) == []
    rows = spec.evaluate(con, as_of="2026-10-01").to_pyarrow().to_pylist()
    # customer 1 is a gmail buyer, but also a big spender: suppressed from the exported segment
    assert [(r["gmail_buyers"], r["big_spenders"], r["gmail"]) for r in rows] == [
        (False, True, True), (False, False, False), (False, False, False), (False, False, False)]
    assert spec.segments == ["gmail", "no_domain", "gmail_buyers", "big_spenders"]


def test_docs_example_plugin_validator_and_section(docs_registry, tmp_path):
    import segrules
    text = (PLUGIN_SPEC % {"dir": tmp_path}).replace("segment: gmail_buyers", "segment: gmial_buyers")
    spec = segrules.load_text(text, "spec.yaml", registry=docs_registry)
    assert spec.section("exports").audiences[0].segment == "gmial_buyers"
    [diag] = [d for d in spec.validate() if d.source == "example"]  # SR307 too: no schema here
    assert diag.code == "EXP101"
    assert text.splitlines()[diag.span.line - 1].strip().startswith("- {segment: gmial_buyers")
    with pytest.raises(segrules.SpecError) as exc:
        segrules.load_text(text.replace("    - {segment", "    - {segmnt"), registry=docs_registry)
    assert sorted(d.code for d in exc.value.diagnostics) == ["SR105", "SR106"]


def test_docs_example_plugin_sink_and_command(example_plugin, docs_registry, tmp_path, monkeypatch):
    import ibis
    from click.testing import CliRunner

    import segrules
    db = tmp_path / "shop.duckdb"
    con = ibis.duckdb.connect(str(db))
    _tables(con)
    con.disconnect()
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(PLUGIN_SPEC % {"dir": tmp_path}, encoding="utf-8")
    # The command builds its registry as an installed plugin would: make it find this plugin.
    monkeypatch.setattr(segrules, "default_registry", lambda: docs_registry)
    result = CliRunner().invoke(docs_registry.commands["export"],
                                [str(spec_path), "--db", str(db), "--as-of", "2026-10-01"])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote 1 members to {tmp_path / 'gmail_buyers.jsonl'}\n"
    lines = (tmp_path / "gmail_buyers.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{"customer_id": 1}]
    assert docs_registry.sink_for("out.JSONL")[0].name == "jsonl"
    with pytest.raises(segrules.SinkError):
        example_plugin.write_jsonl(None, str(tmp_path / "missing" / "x.jsonl"), {})


# --- (g) the example specs validate cleanly ---------------------------------------------------------
def test_docs_example_specs_exist():
    assert len(EXAMPLE_SPECS) >= 2


@pytest.mark.parametrize("path", EXAMPLE_SPECS, ids=[p.name for p in EXAMPLE_SPECS])
def test_docs_example_spec_validates_cleanly(path):
    import segrules
    from segrules.diagnostics import render
    spec = segrules.load(path, registry=segrules.default_registry(load_entrypoints=False))
    assert spec.model.schema_ is not None, "example specs carry a schema: block"
    diags = spec.validate()
    assert diags == [], "\n\n".join(render(d) for d in diags)
    _runs_on_empty_tables(spec)


# --- regenerate the --help blocks of docs/cli.md ---------------------------------------------------
def write_help_blocks() -> bool:
    """Paste the current ``--help`` of every command into docs/cli.md. True if it changed."""
    path = DOCS / "cli.md"
    text = path.read_text(encoding="utf-8")
    new = HELP_BLOCK.sub(lambda m: m.group(1) + _help(m.group("command")) + m.group(4), text)
    if new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    sys.exit(print("docs/cli.md updated" if write_help_blocks() else "docs/cli.md is current"))
