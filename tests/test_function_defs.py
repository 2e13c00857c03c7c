"""One function table: every built-in is a ``FunctionDef`` like a plugin's (signature, type rule,
compile together), and a plugin may use the general form the built-ins use (a type rule and a
compile that gets the expression compiler)."""

from __future__ import annotations

import types
from datetime import datetime

import ibis
import ibis.expr.datatypes as dt
import pyarrow as pa
import pytest

import segrules
from segrules.builtin import FUNCTIONS
from segrules.plugin import CallInfo, DataType, FunctionDef, Problem, hookimpl, parse_type

SPEC = """version: 1
name: t
entity: {table: customers, key: customer_id}
segments:
  s: {where: "%s"}
"""


def _registry(*functions: FunctionDef) -> segrules.plugin.Registry:
    module = types.ModuleType("fn_plugin")
    module.register_functions = hookimpl(lambda: list(functions))  # type: ignore[attr-defined]
    return segrules.default_registry(plugins=[module], load_entrypoints=False)


def _check_clip(info: CallInfo) -> DataType | Problem:
    # a type rule sees and returns segrules' types (checking loads no Ibis)
    assert all(isinstance(t, DataType) for t in info.types)
    if len(info.args) != 2 or not (info.types[0].is_null() or info.types[0].is_numeric()):
        return info.problem("takes a number and a whole-number bound")
    if not (hasattr(info.args[1], "value") and isinstance(info.args[1].value, int)):  # type: ignore[attr-defined]
        return Problem("SR404", "clip(): the bound must be a literal", info.args[1], "e.g. clip(x, 10)")
    return parse_type("float64")


def _clip(ctx, args, nodes):
    assert ctx.type_of_call == dt.float64  # the compiler, with the call's checked type as Ibis's
    x, bound = args[0].cast(dt.float64), ctx.lit(float(nodes[1].value), dt.float64)
    return ibis.ifelse(x > bound, bound, x)  # null stays null


CLIP = FunctionDef("clip", compile=_clip, doc="x, at most bound", rule=_check_clip, context=True,
                   null_in_null_out=True, signature="clip(x: numeric, bound: whole-number literal) → float64")


def test_function_defs_every_builtin_is_one_entry():
    assert len(FUNCTIONS) == 28
    for name, fn in FUNCTIONS.items():
        assert isinstance(fn, FunctionDef) and fn.name == name
        assert fn.signature.startswith(f"{name}(") and fn.doc and fn.compile is not None
        assert fn.rule is not None or fn.returns is not None


def test_function_defs_need_compile_and_a_type():
    with pytest.raises(TypeError, match="compile is required"):
        FunctionDef("f", ("string",), "string")
    with pytest.raises(TypeError, match="type rule"):
        FunctionDef("f", ("string",), compile=lambda s: s)
    assert FunctionDef("f", ("string", "..."), "int64", len).signature == "f(x1: string, ...) → int64"


def test_function_defs_plugin_general_form_runs():
    registry = _registry(CLIP)
    con = ibis.duckdb.connect()
    con.create_table("customers", pa.table({"customer_id": [1, 2, 3], "ltv": [5.0, 50.0, None]}))
    spec = segrules.load_text(SPEC % "clip(ltv, 10) == 10 or clip(null, 1) is not null", registry=registry)
    rows = spec.evaluate(con, as_of=datetime(2026, 1, 1)).to_pyarrow().to_pylist()
    assert [r["s"] for r in rows] == [False, True, False]


def test_function_defs_plugin_type_rule_problems_are_positioned():
    registry = _registry(CLIP)
    con = ibis.duckdb.connect()
    con.create_table("customers", pa.table({"customer_id": [1], "ltv": [5.0]}))
    text = SPEC % "clip(ltv, ltv) > 1"
    (diag,) = segrules.load_text(text, registry=registry).validate(con)
    assert (diag.code, diag.message, diag.hint) == ("SR404", "clip(): the bound must be a literal", "e.g. clip(x, 10)")
    line = text.splitlines()[diag.span.line - 1]
    assert line[diag.span.column - 1:].startswith("ltv) > 1")  # at the bound, not at the call


def test_function_defs_plugin_population_function_is_sr603():
    ranked = FunctionDef("my_rank", compile=lambda *a: None, rule=lambda info: parse_type("float64"), population=True)
    registry = _registry(ranked)
    assert "my_rank" not in registry.functions
    assert [d.code for d in registry.problems] == ["SR603"]
    assert "population=True" in registry.problems[0].message
