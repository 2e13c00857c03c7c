"""Plugin entity functions: ``tally('paid', 2)`` reads a per-entity value a plugin computes from an
entry of its spec section; checked with positioned errors, joined into the one query plan only
when a rule calls it, each distinct call once."""

import types
from datetime import datetime

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from pydantic import BaseModel, ConfigDict

import segrules
from segrules.errors import PluginError, TypeCheckError
from segrules.plugin import EntityFunctionDef, FunctionDef, SourceExpression, SpecSection, hookimpl

from helpers import HEAD, SCHEMA
from rfm_helpers import BACKENDS, connect


class Tally(BaseModel):
    model_config = ConfigDict(extra="forbid")
    where: str
    among: str = "true"  # an entity expression: who is counted at all


def _entries(config):
    return list(config)


def _expressions(config, model):
    out = []
    for name, entry in config.items():
        out.append(SourceExpression(f"{name}.where", "orders", entry.where, ("tally", name, "where"),
                                    expect="boolean"))
        out.append(SourceExpression(f"{name}.among", None, entry.among, ("tally", name, "among"),
                                    expect="boolean"))
    return out


BUILDS = []


def _build(ctx):
    """``tally(entry, n)``: whether the entity has at least n orders matching the entry's where
    (null outside ``among``)."""
    BUILDS.append((ctx.entry, ctx.args))
    rows = ctx.source("orders")
    rows = rows.filter(ctx.expression(f"{ctx.entry}.where", rows))
    per = rows.group_by(k=rows[ctx.source_key("orders")]).aggregate(n=rows.count())
    among = ctx.entity_values({"among": f"{ctx.entry}.among"})
    j = among.left_join(per, among[ctx.key] == per.k)
    return j.select(ctx.key, value=ibis.ifelse(j.among, j.n.fill_null(0) >= ctx.args[0], ibis.null("boolean")))


def _check(config, entry, args):
    return None if args[0] >= 1 else f"n must be at least 1, got {args[0]}"


TALLY = types.ModuleType("tally_plugin")
TALLY.register_spec_sections = hookimpl(lambda: [SpecSection("tally", dict[str, Tally])])
TALLY.register_entity_functions = hookimpl(lambda: [EntityFunctionDef(
    "tally", "tally", _entries, _build, "boolean", args=("integer",), check=_check, expressions=_expressions)])


def load(segments: str, tally: str = "tally: {paid: {where: status == 'paid', among: ltv > 0}}\n", plugins=(TALLY,)):
    registry = segrules.default_registry(plugins=list(plugins), load_entrypoints=False)
    return segrules.load_text(HEAD + tally + "segments:\n" + segments + SCHEMA, "t.yaml", registry=registry)


@pytest.fixture(params=BACKENDS)
def con(request):
    con = connect(request.param)
    schema = ibis.schema({"customer_id": "int64", "email": "string", "country": "string",
                          "signup_at": "timestamp", "plan": "string", "birth_date": "date",
                          "marketing_opt_in": "boolean"})
    con.create_table("customers", pa.table({
        "customer_id": [1, 2, 3, 4], "email": ["a", "b", "c", "d"], "country": ["DE"] * 4,
        "signup_at": [datetime(2024, 1, 1)] * 4, "plan": ["x"] * 4, "birth_date": [None] * 4,
        "marketing_opt_in": [True] * 4}, schema=schema.to_pyarrow()), schema=schema, overwrite=True)
    con.create_table("orders", pd.DataFrame({
        "order_id": range(6), "customer_id": [1, 1, 2, 2, 3, 3],
        "ordered_at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-01-01", "2025-06-01",
                                      "2025-01-01", "2025-01-02"]),
        "amount": [60.0, 50.0, 200.0, 10.0, 500.0, 1.0],
        "status": ["paid", "paid", "paid", "refunded", "refunded", "refunded"]}), overwrite=True)
    con.create_table("events", schema=ibis.schema({"event_id": "int64", "customer_id": "int64",
                                                   "ts": "timestamp", "name": "string"}), overwrite=True)
    yield con
    for table in ("customers", "orders", "events"):
        con.drop_table(table, force=True)
    con.disconnect()


def members(spec, con, as_of="2025-12-31"):
    wide = spec.evaluate(con, as_of=as_of, features=False).to_pyarrow().to_pandas()
    return {s: set(wide.loc[wide[s], "customer_id"]) for s in spec.segments}


def test_entity_functions_values_per_entity(con):
    BUILDS.clear()
    spec = load("  two:\n    where: tally('paid', 2)\n  one:\n    where: tally('paid', 1) and not tally('paid', 2)\n"
                "  outside:\n    where: tally('paid', 1) is null\n  again:\n    where: tally('paid', 2) == true\n")
    assert members(spec, con) == {"two": {1}, "one": {2}, "outside": {4}, "again": {1}}
    # customer 3 has only refunded orders (ltv 501 > 0, among holds) and 0 paid: not null, false
    assert sorted(BUILDS) == [("paid", (1,)), ("paid", (2,))]  # each distinct call built once


def test_entity_functions_joined_only_when_used(con):
    BUILDS.clear()
    spec = load("  big:\n    where: ltv > 100\n")
    assert members(spec, con) == {"big": {1, 2, 3}}
    assert BUILDS == []


def test_entity_functions_as_of_sees_the_past(con):
    spec = load("  two:\n    where: tally('paid', 2)\n")
    assert members(spec, con, "2025-01-15") == {"two": set()}
    assert members(spec, con, "2025-03-01") == {"two": {1}}


@pytest.mark.parametrize("rule, code, column", [
    ("tally('piad', 2)", "SR320", 18),          # unknown entry, did-you-mean
    ("tally(plan, 2)", "SR434", 18),            # not a literal
    ("tally('paid', 'x')", "SR434", 26),        # wrong type
    ("tally('paid', 1.5)", "SR434", 26),
    ("tally('paid', ltv)", "SR434", 26),
    ("tally('paid', 0)", "SR434", 12),          # out of range: the plugin's check, at the call
    ("tally('paid')", "SR404", 12),
    ("count(orders where tally('paid', 1))", "SR308", 31),
])
def test_entity_functions_positioned_errors(rule, code, column):
    spec = load(f"  s:\n    where: {rule}\n")
    with pytest.raises(TypeCheckError) as exc:
        spec.check()
    diags = [d for d in exc.value.diagnostics if d.is_error]
    assert [(d.code, d.span.line, d.span.column) for d in diags][:1] == [(code, 14, column)], diags


def test_entity_functions_did_you_mean():
    with pytest.raises(TypeCheckError) as exc:
        load("  s:\n    where: tally('piad', 2)\n").check()
    assert "paid" in exc.value.diagnostics[0].hint


def test_entity_functions_need_their_section():
    spec = load("  s:\n    where: tally('paid', 2)\n", tally="")
    with pytest.raises(TypeCheckError) as exc:
        spec.check()
    assert exc.value.diagnostics[0].code == "SR313"
    assert "tally:" in exc.value.diagnostics[0].message


def test_entity_functions_section_expressions_positioned():
    spec = load("  s:\n    where: ltv > 0\n", tally="tally: {paid: {where: stauts == 'paid', among: ltv}}\n")
    with pytest.raises(TypeCheckError) as exc:
        spec.check()
    got = sorted((d.code, d.span.line, d.span.column) for d in exc.value.diagnostics)
    assert got == [("SR301", 11, 23), ("SR415", 11, 48)]


def test_entity_functions_cycle_through_section():
    spec = load("  s:\n    where: tally('paid', 1)\n", tally="tally: {paid: {where: 'true', among: segment('s')}}\n")
    with pytest.raises(TypeCheckError) as exc:
        spec.check()
    assert "SR501" in {d.code for d in exc.value.diagnostics}
    own = load("  s:\n    where: ltv > 0\n", tally="tally: {paid: {where: 'true', among: \"tally('paid', 1)\"}}\n")
    with pytest.raises(TypeCheckError) as exc:
        own.check()
    assert [d.code for d in exc.value.diagnostics] == ["SR501"]


def test_entity_functions_name_clash_with_a_function():
    other = types.ModuleType("other_plugin")
    other.register_functions = hookimpl(lambda: [FunctionDef("tally", ("any",), "int64", lambda x: x)])
    with pytest.raises(PluginError) as exc:
        segrules.default_registry(plugins=[other, TALLY], load_entrypoints=False)
    assert "tally_plugin" in exc.value.render() and "other_plugin" in exc.value.render()
