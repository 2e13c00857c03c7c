"""Plugin namespaces: per-entity values a plugin computes (``points.total``), checked with the spec
and joined into its one query plan only when a rule uses them."""

import types
from datetime import datetime

import ibis
import pandas as pd
import pyarrow as pa
import pytest
from pydantic import BaseModel, ConfigDict

import segrules
from segrules.errors import SegrulesError, TypeCheckError
from segrules.plugin import NamespaceDef, SourceExpression, SpecSection, ValueField, hookimpl

from helpers import HEAD, SCHEMA


class PointsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str
    amount: str = "1"
    where: str | None = None


def _fields(config):
    return [ValueField("total", "float64", "points earned", minimum=0),
            ValueField("tier", "string", "gold or basic", values=("gold", "basic"), nullable=False)]


def _expressions(config):
    out = [SourceExpression("amount", config.source, config.amount, ("points", "amount"),
                            ("points", "source"), expect="numeric")]
    if config.where:
        out.append(SourceExpression("where", config.source, config.where, ("points", "where"),
                                    ("points", "source"), expect="boolean"))
    return out


def _build(ctx):
    src = ctx.source(ctx.config.source)
    where = ctx.expression("where", src) if ctx.config.where else None
    points = src.group_by(k=src[ctx.source_key(ctx.config.source)]).aggregate(
        total=ctx.expression("amount", src).cast("float64").sum(where=where))
    entity = ctx.entity
    joined = entity.left_join(points, entity[ctx.key] == points.k)
    total = joined.total.fill_null(0)
    return joined.select(ctx.key, total=total, tier=ibis.ifelse(total >= 100, "gold", "basic"))


POINTS = types.ModuleType("points_plugin")
POINTS.register_spec_sections = hookimpl(lambda: [SpecSection("points", PointsConfig)])
POINTS.register_namespaces = hookimpl(lambda: [NamespaceDef("points", "points", _fields, _build, _expressions)])


def registry():
    return segrules.default_registry(plugins=[POINTS], load_entrypoints=False)


def spec(segments: str, points: str = "points: {source: orders, amount: amount, where: status == 'paid'}\n"):
    return segrules.load_text(HEAD + points + "segments:\n" + segments + SCHEMA, "t.yaml", registry=registry())


@pytest.fixture
def con():
    con = ibis.duckdb.connect()
    con.create_table("customers", pa.table({
        "customer_id": [1, 2, 3, 4], "email": ["a", "b", "c", "d"], "country": ["DE"] * 4,
        "signup_at": [datetime(2024, 1, 1)] * 4, "plan": ["x"] * 4, "birth_date": [None] * 4,
        "marketing_opt_in": [True] * 4}),
        schema=ibis.schema({"customer_id": "int64", "email": "string", "country": "string",
                            "signup_at": "timestamp", "plan": "string", "birth_date": "date",
                            "marketing_opt_in": "boolean"}))
    orders = pd.DataFrame({
        "order_id": range(6), "customer_id": [1, 1, 2, 2, 3, 3],
        "ordered_at": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-01-01", "2025-06-01",
                                      "2025-01-01", "2025-01-02"]),
        "amount": [60.0, 50.0, 200.0, 10.0, 500.0, 1.0],
        "status": ["paid", "paid", "paid", "paid", "refunded", "paid"]})
    con.create_table("orders", orders)
    con.create_table("events", schema=ibis.schema({"event_id": "int64", "customer_id": "int64",
                                                   "ts": "timestamp", "name": "string"}))
    return con


def members(spec, con, as_of):
    wide = spec.evaluate(con, as_of=as_of, features=False).to_pyarrow().to_pandas()
    return {s: set(wide.loc[wide[s], "customer_id"]) for s in spec.segments}


def test_namespace_values_are_used_in_rules_and_respect_as_of(con):
    s = spec("  gold: {where: points.tier == 'gold'}\n  some: {where: points.total > 0 and points.total < 100}\n")
    # paid amounts: 1 -> 110, 2 -> 200 (210 after June), 3 -> 1 (the 500 is refunded), 4 -> none
    assert members(s, con, "2025-12-31") == {"gold": {1, 2}, "some": {3}}
    # as of mid-January only the first order of each customer counts: 1 -> 60, 2 -> 200, 3 -> 1
    assert members(s, con, "2025-01-15") == {"gold": {2}, "some": {1, 3}}


def test_namespace_is_joined_only_when_a_rule_uses_it():
    s = spec("  de: {where: country == 'DE'}\n  gold: {where: points.tier == 'gold'}\n")
    assert "refunded" not in s.to_sql(segments=["de"]) and "paid" not in s.to_sql(segments=["de"])
    assert "paid" in s.to_sql(segments=["gold"])


def test_namespace_fields_are_exposed_to_static_analysis():
    checked = spec("  gold: {where: points.tier == 'gold'}\n").check()
    _, config, fields = checked.namespaces["points"]
    assert config.source == "orders"
    assert fields["tier"].values == ("gold", "basic") and fields["total"].minimum == 0


def codes(text_segments, points=None):
    kwargs = {} if points is None else {"points": points}
    with pytest.raises(SegrulesError) as exc:
        spec(text_segments, **kwargs).check()
    return [(d.code, d.span.line, d.span.column) for d in exc.value.diagnostics]


def line_of(text, needle):
    full = HEAD + text
    for number, line in enumerate(full.splitlines(), 1):
        if needle in line:
            return number, line.index(needle) + 1
    raise AssertionError(needle)


def test_namespace_unknown_value_is_positioned_with_a_suggestion():
    seg = "  gold: {where: points.teir == 'gold'}\n"
    [(code, line, col)] = codes(seg)
    assert code == "SR311" and (line, col) == line_of("points: x\nsegments:\n" + seg, "points.teir")
    with pytest.raises(TypeCheckError) as exc:
        spec(seg).check()
    assert exc.value.diagnostics[0].hint == "did you mean 'tier'?"


def test_namespace_without_its_section_says_which_section_is_missing():
    seg = "  gold: {where: points.tier == 'gold'}\n"
    with pytest.raises(TypeCheckError) as exc:
        spec(seg, points="").check()
    [d] = exc.value.diagnostics
    assert d.code == "SR313" and "points: section" in d.message


def test_namespace_value_inside_an_aggregate_is_an_error():
    [(code, _, _)] = codes("  x: {where: count(orders where points.total > 1) > 0}\n")
    assert code == "SR308"


def test_namespace_source_expressions_are_checked_where_they_are_written():
    points = "points: {source: orders, amount: status, where: amount}\n"
    found = codes("  gold: {where: points.tier == 'gold'}\n", points)
    assert [c for c, _, _ in found] == ["SR415", "SR415"]
    text = points + "segments:\n"
    assert {(line, col) for _, line, col in found} == {line_of(text, "status,"), line_of(text, "amount}")}


def test_namespace_unknown_source_and_bad_syntax_are_positioned():
    found = codes("  gold: {where: points.tier == 'gold'}\n", "points: {source: order, where: status ==}\n")
    assert [c for c, _, _ in found] == ["SR302"]
    assert found[0][1:] == line_of("points: {source: order, where: status ==}\n", "order,")
    points = "points: {source: orders, where: status ==}\n"
    [(code, line, col)] = codes("  gold: {where: points.tier == 'gold'}\n", points)
    at_line, at_col = line_of(points, "==}")
    assert code == "SR204" and (line, col) == (at_line, at_col + 2)  # at the closing brace


def test_namespace_named_like_a_source_is_an_error():
    points = "points: {source: orders}\n"
    text = HEAD.replace("  events: {table: events", "  points: {table: events") + points + \
        "segments:\n  a: {where: country == 'DE'}\n" + SCHEMA
    with pytest.raises(TypeCheckError) as exc:
        segrules.load_text(text, "t.yaml", registry=registry()).check()
    assert [d.code for d in exc.value.diagnostics] == ["SR312"]
