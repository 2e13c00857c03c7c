"""``entity.NAME`` inside aggregates, check stage: what resolves, and every misuse as a positioned
diagnostic (SR316-SR319, SR412) with its hint."""

import types

import pytest

import segrules
from segrules.check.typecheck import EntityValue
from segrules.errors import TypeCheckError
from segrules.plugin import NamespaceDef, SpecSection, ValueField, hookimpl

from helpers import HEAD, SCHEMA, spec_text

FEATURES = """\
  last_cart_at: max(events.ts where name == 'add_to_cart')
  early_orders: count(orders where ordered_at <= entity.signup_at + 7d)
"""


def check(segments, features=""):
    text = spec_text(segments).replace("segments:\n", features + "segments:\n", 1)
    return segrules.load_text(text, "t.yaml").check()


def diags(segments, features=""):
    with pytest.raises(TypeCheckError) as info:
        check(segments, features)
    return info.value.diagnostics


def where_line() -> int:
    return HEAD.count("\n") + 3  # the where: of the first segment


def test_entity_check_resolves_columns_and_features():
    checked = check({"s": "count(orders where ordered_at > entity.last_cart_at) > 0 and early_orders >= 2"},
                    FEATURES)
    values = {b for b in checked.bindings.values() if isinstance(b, EntityValue)}
    assert values == {EntityValue("last_cart_at", feature=True), EntityValue("signup_at")}
    # a feature read through entity. is a dependency: computed first, and in the closure
    assert (("feature", "last_cart_at")) in [ref for ref, _ in checked.deps[("segment", "s")]]
    assert ("feature", "last_cart_at") in checked.closure([("segment", "s")])


def test_entity_check_time_range_bounds_take_entity_values():
    checked = check({"s": "count(events where name == 'login' between entity.signup_at and "
                          "entity.signup_at + 14d) > 0"})
    assert sum(isinstance(b, EntityValue) for b in checked.bindings.values()) == 2


@pytest.mark.parametrize("rule, code, column, hint", [
    ("entity.signup_at > now - 1d", "SR316", 12, "on the entity row write signup_at"),
    ("sum(entity.ltv) > 0", "SR316", 12, "compare entity.NAME inside an aggregate's where"),
    ("count(orders where ordered_at > entity.sigup_at) > 0", "SR317", 44, "did you mean 'signup_at'?"),
    ("count(orders where ordered_at > entity.amount) > 0", "SR317", 44, "amount is a column of orders"),
    ("count(orders where ordered_at > entity.events) > 0", "SR317", 44, "events is a source"),
    ("count(orders where ordered_at > entity.s) > 0", "SR317", 44, "define a feature, e.g. in_s: segment('s')"),
    ("count(orders between signup_at and now) > 0", "SR412", 33, "write entity.signup_at"),
    ("count(orders between entity.signup_at and orders.ordered_at) > 0", "SR412", 54, None),
    ("count(orders between entity.signup_at and count(events)) > 0", "SR412", 54, None),
    ("count(orders between entity.country and now) > 0", "SR401", 33, None),
    ("count(orders where ordered_at > entity.ltv) > 0", "SR401", 31, None),
])
def test_entity_check_error_codes_and_positions(rule, code, column, hint):
    (d,) = diags({"s": rule})
    assert d.code == code, d.message
    assert (d.span.file, d.span.line, d.span.column) == ("t.yaml", where_line(), column)
    if hint is not None:
        assert hint in d.hint


def test_entity_check_feature_reading_its_own_aggregate_is_sr319():
    features = "  last_cart_at: max(events.ts where ts > entity.last_cart_at)\n"
    (d,) = diags({"s": "true"}, features)
    assert d.code == "SR319"
    assert "entity.last_cart_at" in d.message and "cannot be computed before" in d.hint
    text = spec_text({"s": "true"}).replace("segments:\n", features + "segments:\n", 1)
    line = text.splitlines().index(features.rstrip("\n")) + 1
    assert (d.span.line, d.span.column) == (line, 42)


def test_entity_check_cycle_through_two_features_is_sr319():
    features = ("  a: max(orders.ordered_at where ordered_at > entity.b)\n"
                "  b: a + 1d\n")
    codes = [d.code for d in diags({"s": "true"}, features)]
    assert codes == ["SR319"]


def test_entity_check_plain_cycle_stays_sr501():
    codes = [d.code for d in diags({"s": "segment('s')"})]
    assert codes == ["SR501"]


def test_entity_check_source_called_entity_is_reserved():
    text = spec_text({"s": "true"}).replace(
        "  events: {table: events", "  entity: {table: events, key: customer_id, time: ts}\n  events: {table: events")
    with pytest.raises(TypeCheckError) as info:
        segrules.load_text(text, "t.yaml").check()
    (d,) = info.value.diagnostics
    assert d.code == "SR318" and d.hint == "rename the source"
    assert text.splitlines()[d.span.line - 1].startswith("  entity: {table: events")


def _entity_namespace_registry():
    plugin = types.ModuleType("entity_namespace_plugin")
    fields = [ValueField("x", "int64", "a value")]
    plugin.register_spec_sections = hookimpl(lambda: [SpecSection("things", dict)])
    plugin.register_namespaces = hookimpl(lambda: [NamespaceDef("entity", "things", lambda c: fields,
                                                                lambda ctx: None)])
    return segrules.default_registry(plugins=[plugin], load_entrypoints=False)


def test_entity_check_plugin_namespace_called_entity_is_reserved():
    text = spec_text({"s": "true"}).replace("segments:\n", "things: {}\nsegments:\n", 1)
    spec = segrules.load_text(text, "t.yaml", registry=_entity_namespace_registry())
    with pytest.raises(TypeCheckError) as info:
        spec.check()
    (d,) = info.value.diagnostics
    assert d.code == "SR318"
    assert text.splitlines()[d.span.line - 1].startswith("things:")


def test_entity_check_plugin_namespace_called_entity_unused_is_fine():
    spec = segrules.load_text(spec_text({"s": "true"}), "t.yaml", registry=_entity_namespace_registry())
    spec.check()


def test_entity_check_not_in_plugin_source_expressions():
    """rfm's amount/where are computed per source row by the plugin, before any entity value."""
    text = (HEAD + "rfm: {source: orders, amount: amount, where: ordered_at > entity.signup_at}\n"
            + "segments:\n  s: {where: rfm.r >= 1}\n" + SCHEMA)
    with pytest.raises(TypeCheckError) as info:
        segrules.load_text(text, "t.yaml").check()
    (d,) = info.value.diagnostics
    assert d.code == "SR316" and "plugin section's source expressions" in d.message
    line = text.splitlines()[d.span.line - 1]
    assert line[d.span.column - 1:].startswith("entity.signup_at")


def test_entity_check_name_entity_still_free_elsewhere():
    """Only the dotted form is reserved: a feature may be called `entity`... and a bare
    `entity` that is nothing is the ordinary unknown-name error."""
    checked = check({"s": "entity > 0"}, "  entity: count(orders)\n")
    assert checked.feature_types["entity"].is_integer()
    (d,) = diags({"s": "entity > 0"})
    assert d.code == "SR301"


def test_entity_check_cycle_through_a_segment_is_sr319():
    features = "  in_s: segment('s')\n"
    (d,) = diags({"s": "count(orders where entity.in_s) > 0"}, features)
    assert d.code == "SR319"
    assert "feature in_s -> segment s -> feature in_s" in d.message or \
        "segment s -> feature in_s -> segment s" in d.message
