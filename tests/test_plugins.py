"""Plugin seam: registration, clashes, broken plugins, functions, validators, sinks."""

import types
from datetime import datetime

import ibis
import pyarrow as pa
import pytest

import segrules
from segrules.diagnostics import Diagnostic, Severity
from segrules.errors import PluginError, SinkError
from segrules.plugin import FunctionDef, SpecSection, Validator, hookimpl

from helpers import spec_text


def plugin(name, **hooks):
    module = types.ModuleType(name)
    for hook, value in hooks.items():
        setattr(module, hook, hookimpl(lambda value=value: value)) if not callable(value) else \
            setattr(module, hook, hookimpl(value))
    return module


DOMAIN = FunctionDef("domain", ("string",), "string",
                     lambda email: email.re_extract("@(.*)$", 1).lower(),
                     doc="The domain of an e-mail address.")


def test_plugins_builtin_file_sinks_register_through_entry_points():
    registry = segrules.default_registry()
    assert {"csv", "parquet"} <= set(registry.sinks)
    assert registry.owner[("sinks", "parquet")] == "files"
    assert registry.sink_for("out/members.PARQUET")[0].name == "parquet"
    sink, target = registry.sink_for("csv:members.txt")
    assert (sink.name, target) == ("csv", "members.txt")
    assert registry.sink_for("members.xlsx") == (None, "members.xlsx")


def test_plugins_duplicate_names_name_both_plugins():
    a = plugin("plug_a", register_functions=[DOMAIN])
    b = plugin("plug_b", register_functions=[DOMAIN])
    with pytest.raises(PluginError) as info:
        segrules.default_registry(plugins=[a, b], load_entrypoints=False)
    message = info.value.diagnostics[0].message
    assert "plug_a" in message and "plug_b" in message and "domain" in message


def test_plugins_commands_are_collected_on_first_use_and_clashes_name_both_plugins():
    import click

    calls = []

    def commands(name):
        def register_commands():
            calls.append(name)
            return [click.Command("export", callback=lambda: None)]
        return register_commands

    a = plugin("plug_a", register_commands=commands("plug_a"))
    b = plugin("plug_b", register_commands=commands("plug_b"))
    registry = segrules.default_registry(plugins=[a, b], load_entrypoints=False)
    assert calls == []  # loading a spec never imports the plugins' command modules
    with pytest.raises(PluginError) as info:
        registry.commands
    message = info.value.diagnostics[0].message
    assert "plug_a" in message and "plug_b" in message and "export" in message
    with pytest.raises(PluginError) as again:  # the same error, the hooks not called twice
        registry.commands
    assert again.value is info.value and sorted(calls) == ["plug_a", "plug_b"]
    single = segrules.default_registry(plugins=[plugin("plug_c", register_commands=commands("plug_c"))],
                                       load_entrypoints=False)
    assert list(single.commands) == ["export"] and single.owner[("commands", "export")] == "plug_c"
    assert single.commands is single.commands  # collected once


def test_plugins_cannot_shadow_builtin_functions():
    fn = FunctionDef("lower", ("string",), "string", lambda s: s)
    with pytest.raises(PluginError, match="built-in"):
        segrules.default_registry(plugins=[plugin("p", register_functions=[fn])], load_entrypoints=False)


def test_plugins_function_used_in_a_rule():
    registry = segrules.default_registry(plugins=[plugin("p", register_functions=[DOMAIN])],
                                         load_entrypoints=False)
    con = ibis.duckdb.connect()
    con.create_table("customers", pa.table({"customer_id": [1, 2], "email": ["x@Corp.com", "y@gmail.com"]}))
    text = """version: 1
name: t
entity: {table: customers, key: customer_id}
segments:
  corp: {where: "domain(email) == 'corp.com'"}
"""
    spec = segrules.load_text(text, registry=registry)
    rows = spec.evaluate(con, as_of=datetime(2026, 1, 1)).to_pyarrow().to_pylist()
    assert [r["corp"] for r in rows] == [True, False]


def test_plugins_function_argument_types_are_checked():
    registry = segrules.default_registry(plugins=[plugin("p", register_functions=[DOMAIN])],
                                         load_entrypoints=False)
    spec = segrules.load_text(spec_text({"s": "domain(ltv) == 'x'"}), "t.yaml", registry=registry)
    with pytest.raises(segrules.TypeCheckError, match="argument 1 must be string"):
        spec.check()


def test_plugins_spec_section_is_validated_with_position():
    from pydantic import BaseModel, ConfigDict

    class Owners(BaseModel):
        model_config = ConfigDict(extra="forbid")
        team: str

    registry = segrules.default_registry(
        plugins=[plugin("p", register_spec_sections=[SpecSection("owners", Owners)])], load_entrypoints=False)
    spec = segrules.load_text(spec_text({"s": "true"}) + "owners: {team: growth}\n", registry=registry)
    assert spec.section("owners").team == "growth"
    with pytest.raises(segrules.SpecError) as info:
        segrules.load_text(spec_text({"s": "true"}) + "owners: {teem: growth}\n", "t.yaml", registry=registry)
    codes = {d.code for d in info.value.diagnostics}
    assert "SR105" in codes


def test_plugins_validators_run_and_crashes_become_diagnostics():
    def warn(ctx):
        return [Diagnostic("X001", f"{len(ctx.checked.segments)} segments", severity=Severity.WARNING)]

    def crash(ctx):
        raise RuntimeError("boom")

    p = plugin("checks", register_validators=[Validator("count", warn), Validator("crash", crash)])
    registry = segrules.default_registry(plugins=[p], load_entrypoints=False)
    found = segrules.load_text(spec_text({"s": "true"}), registry=registry).validate()
    assert [(d.code, d.severity) for d in found] == [("X001", Severity.WARNING), ("SR601", Severity.ERROR)]
    assert "checks" in found[1].message and "boom" in found[1].message


def test_plugins_broken_entry_point_is_reported_not_fatal(monkeypatch):
    from importlib.metadata import EntryPoint

    from segrules.plugin import host

    broken = EntryPoint("broken", "segrules_does_not_exist_xyz", "segrules")
    monkeypatch.setattr(host, "entry_points", lambda group: [broken])
    registry = segrules.default_registry()
    assert [d.code for d in registry.problems] == ["SR600"]
    assert "broken" in registry.problems[0].message


def test_plugins_file_sink_failure_leaves_previous_output(tmp_path):
    import segrules_files

    target = tmp_path / "members.csv"
    target.write_text("old\n")

    class Boom(Exception):
        pass

    bad = pa.table({"a": [1]})
    with pytest.raises(SinkError):
        segrules_files._write(bad, str(target), lambda t, p: (_ for _ in ()).throw(Boom("disk full")))
    assert target.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [target]
    segrules_files.write_csv(bad, str(target), {})
    assert target.read_text().splitlines() == ['"a"', "1"]


def test_plugins_running_a_spec_does_not_import_the_heavy_optional_libraries(tmp_path):
    """Every run loads every installed plugin; the libraries only some commands need (httpx for
    sync, z3 for proofs, matplotlib for the RFM report) are imported when used, so they do not
    add to the start-up of ``run``, ``validate`` or ``compile``.  (pandas is not checked: Ibis
    imports it to convert any result to Arrow.)"""
    import subprocess
    import sys

    from segrules.demo import write_demo_data

    db = tmp_path / "shop.duckdb"
    write_demo_data(db, customers=300)
    script = (
        "import sys, ibis, segrules\n"
        f"con = ibis.duckdb.connect({str(db)!r})\n"
        "spec = segrules.load('segment_specs/ecommerce.yaml')\n"
        "assert spec.evaluate(con).count().to_pyarrow().as_py() == 300\n"
        "print(sorted(m for m in ('httpx', 'z3', 'matplotlib') if m in sys.modules))\n")
    from pathlib import Path
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
