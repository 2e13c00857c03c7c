"""Diagnostics the everyday paths rarely reach: each is produced here with its code, its position
where it has one, and its exit code, never a traceback (tests/test_error_codes.py checks that every
documented code is produced by some test)."""

from __future__ import annotations

import re
import types
from datetime import datetime

import ibis
import pyarrow as pa
import pytest
from click.testing import CliRunner
from pydantic import BaseModel, ConfigDict

import segrules
from segrules import errors
from segrules.cli import main
from segrules.lang import ast as a
from segrules.plugin import DerivedSegment, FunctionDef, NamespaceDef, SegmentOutputDef, SpecSection, ValueField, \
    hookimpl

from helpers import HEAD, SCHEMA, duckdb_shop, spec_text

NOW = datetime(2025, 6, 1)


def invoke(*args):
    result = CliRunner().invoke(main, [str(x) for x in args])
    assert "Traceback" not in result.output
    return result


def plugin(name, **hooks):
    module = types.ModuleType(name)
    for hook, value in hooks.items():
        setattr(module, hook, hookimpl(value if callable(value) else (lambda value=value: value)))
    return module


# --- the error classes' own codes -----------------------------------------------------------------
@pytest.mark.parametrize("error, code", [
    (errors.SegrulesError, "SR000"), (errors.SpecError, "SR100"), (errors.ExprSyntaxError, "SR200"),
    (errors.TypeCheckError, "SR400"), (errors.CompileError, "SR450"), (errors.PluginError, "SR600"),
    (errors.BackendError, "SR700"), (errors.SinkError, "SR800")])
def test_rare_error_without_a_code_carries_its_class_code(error, code):
    exc = error("something failed")
    assert [d.code for d in exc.diagnostics] == [code]
    assert f"error[{code}]: something failed" in exc.render()


# --- spec files -----------------------------------------------------------------------------------
def test_rare_unreadable_spec_is_sr108(tmp_path):
    binary = tmp_path / "latin1.yaml"
    binary.write_bytes("name: caf\xe9\n".encode("latin-1"))
    for path in (binary, tmp_path / "missing.yaml"):
        result = invoke("validate", path)
        assert result.exit_code == 2, result.output
        assert "SR108" in result.output and str(path) in result.output


def test_rare_unknown_dialect_is_sr111(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text(spec_text({"a": "ltv > 1"}))
    result = invoke("compile", spec, "--dialect", "no_such_sql")
    assert result.exit_code == 2, result.output
    assert "SR111" in result.output and "no_such_sql" in result.output


# --- check ----------------------------------------------------------------------------------------
def _diags(text):
    with pytest.raises(errors.TypeCheckError) as info:
        segrules.load_text(text, "t.yaml").check()
    return info.value.diagnostics


@pytest.mark.parametrize("features, segments, message", [
    ("  email: count(orders)\n", {"a": "true"}, "feature 'email' has the name of a column of 'customers'"),
    ("  a: count(orders)\n", {"a": "true"}, "'a' is both a feature and a segment"),
    ("", {"customer_id": "true"}, "segment 'customer_id' has the name of the entity key"),
])
def test_rare_names_that_clash_are_sr310(features, segments, message):
    text = spec_text(segments).replace("features:\n", "features:\n" + features)
    (d,) = [d for d in _diags(text) if d.code == "SR310"]
    assert d.message == message and d.span.file == "t.yaml" and d.span.line > 1


@pytest.mark.parametrize("rule, message, column", [
    ("count(orders where segment('a')) > 0", "segment() cannot be used inside an aggregate", 31),
    ("sum(orders.amount where amount > max(orders.amount)) > 0", "aggregates cannot be nested", 45),
])
def test_rare_segment_or_aggregate_inside_an_aggregate_is_sr309(rule, message, column):
    (d,) = [d for d in _diags(spec_text({"a": "ltv > 1", "b": rule})) if d.code == "SR309"]
    assert d.message == message and (d.span.file, d.span.column) == ("t.yaml", column)


def test_rare_time_column_that_is_not_temporal_is_sr411():
    text = spec_text({"a": "ltv > 1"}).replace("time: ordered_at", "time: amount")
    (d,) = [d for d in _diags(text) if d.code == "SR411"]
    assert "orders.amount must be a date or timestamp" in d.message
    assert (d.span.line, d.span.column) == (5, 51)  # `amount` in `time: amount` of sources.orders


class Mystery(a.Node):
    """A node no stage knows (as a plugin's or a newer parser's could be)."""


MYSTERY = Mystery(span=segrules.diagnostics.Span("t.yaml", 3, 7, 3, 9))


def test_rare_node_without_a_type_rule_is_sr451_at_its_position():
    from segrules.check.typecheck import Env, TypeChecker

    checker = TypeChecker(Env(entity=ibis.schema({"id": "int64"}), sources={}, source_time={}, features={},
                              segments=set(), params={}))
    assert checker.check(MYSTERY) is None
    (d,) = checker.diagnostics
    assert (d.code, d.message, d.span) == ("SR451", "no type rule for Mystery", MYSTERY.span)


def _compiler(registry=None, rule="ltv > 1"):
    from segrules.compile.to_ibis import ExprCompiler

    checked = segrules.load_text(spec_text({"a": rule}), "t.yaml", registry=registry).check()
    table = ibis.table({"customer_id": "int64", "email": "string"}, name="customers")
    return checked, ExprCompiler(checked, table, NOW, {})


def test_rare_node_without_a_translation_is_sr450_at_its_position():
    _, compiler = _compiler()
    with pytest.raises(errors.CompileError) as info:
        compiler.compile(MYSTERY)
    (d,) = info.value.diagnostics
    assert (d.code, d.span) == ("SR450", MYSTERY.span)


@pytest.mark.parametrize("node", [
    a.SegmentRef("a", span=MYSTERY.span),
    a.Aggregate("count", "orders", span=MYSTERY.span),
    a.Sequence("sequence", (a.Step("orders"), a.Step("orders")), span=MYSTERY.span),
], ids=["segment", "aggregate", "sequence"])
def test_rare_entity_row_node_over_source_rows_is_sr450(node):
    """A compiler over a source's rows has no segments, aggregates or sequences (the checker
    rejects them there, SR309/SR430); one that gets such a node anyway names the gap (it called
    None before: a TypeError)."""
    _, compiler = _compiler()
    with pytest.raises(errors.CompileError) as info:
        compiler.compile(node)
    (d,) = info.value.diagnostics
    assert (d.code, d.span) == ("SR450", MYSTERY.span)
    assert type(node).__name__ in d.message


DOMAIN = FunctionDef("domain", ("string",), "string", lambda email: email.re_extract("@(.*)$", 1))


def test_rare_function_checked_but_not_compilable_is_sr452():
    """A function that passed the check but is gone from the checked spec's table (a plugin that
    registers it only for checking) has no translation: SR452 at the call."""
    registry = segrules.default_registry(plugins=[plugin("domains", register_functions=[DOMAIN])],
                                         load_entrypoints=False)
    checked, compiler = _compiler(registry, "domain(email) == 'x.com'")
    del checked.functions["domain"]
    call = next(n for n in checked.segments["a"].walk() if isinstance(n, a.Call))
    with pytest.raises(errors.CompileError) as info:
        compiler.compile(call)
    assert [(d.code, d.span) for d in info.value.diagnostics] == [("SR452", call.span)]
    assert call.span.file == "t.yaml" and call.span.column == 12


# --- plugins --------------------------------------------------------------------------------------
def test_rare_plugin_hook_that_raises_is_sr602_and_others_still_load():
    def broken():
        raise RuntimeError("disk on fire")

    registry = segrules.default_registry(load_entrypoints=False, plugins=[
        plugin("flaky", register_functions=broken), plugin("fine", register_functions=[DOMAIN])])
    assert "domain" in registry.functions
    (d,) = [d for d in registry.problems if d.code == "SR602"]
    assert d.message == "plugin flaky: register_functions raised RuntimeError: disk on fire"


def test_rare_plugin_item_without_a_name_is_sr603():
    registry = segrules.default_registry(load_entrypoints=False,
                                         plugins=[plugin("sloppy", register_functions=[object(), DOMAIN])])
    assert "domain" in registry.functions
    (d,) = [d for d in registry.problems if d.code == "SR603"]
    assert d.message.startswith("plugin sloppy: register_functions returned <object object")


def test_rare_two_plugins_with_one_name_is_sr605():
    with pytest.raises(errors.PluginError) as info:
        segrules.default_registry(load_entrypoints=False,
                                  plugins=[plugin("twin", register_functions=[DOMAIN]), plugin("twin")])
    assert [d.code for d in info.value.diagnostics] == ["SR605"]
    assert "two plugins are named 'twin'" in info.value.diagnostics[0].message


class Flag(BaseModel):
    model_config = ConfigDict(extra="forbid")
    enabled: bool = True


def _plugin_spec(section_plugin, segments="  big:\n    where: ltv > 10\n"):
    registry = segrules.default_registry(plugins=[section_plugin], load_entrypoints=False)
    return segrules.load_text(HEAD + "flag: {enabled: true}\nsegments:\n" + segments + SCHEMA, "t.yaml",
                              registry=registry)


def test_rare_namespace_table_without_a_declared_value_is_sr606():
    fields = lambda config: [ValueField("score", "float64")]  # noqa: E731
    build = lambda ctx: ctx.entity.select(ctx.key)  # forgets the score column  # noqa: E731
    spec = _plugin_spec(plugin("scores", register_spec_sections=[SpecSection("flag", Flag)],
                               register_namespaces=[NamespaceDef("scoring", "flag", fields, build)]),
                        "  high:\n    where: scoring.score > 1\n")
    with pytest.raises(errors.CompileError) as info:
        spec.evaluate(duckdb_shop(NOW), as_of=NOW)
    (d,) = info.value.diagnostics
    assert (d.code, d.message) == ("SR606", "namespace 'scoring' built a table without the column(s) score")


@pytest.mark.parametrize("names", [("rest", "rest"), ("ltv",), ("customer_id",)])
def test_rare_derived_segment_named_twice_or_like_a_feature_is_sr611(names):
    derive = lambda config, model: [DerivedSegment(n, ("big",), lambda m: ~m["big"]) for n in names]  # noqa: E731
    spec = _plugin_spec(plugin("rest", register_spec_sections=[SpecSection("flag", Flag)],
                               register_segment_outputs=[SegmentOutputDef("rest", "flag", derive)]))
    with pytest.raises(errors.CompileError) as info:
        spec.evaluate(duckdb_shop(NOW), as_of=NOW)
    (d,) = info.value.diagnostics
    assert d.code == "SR611" and f"output segment {names[-1]!r} is derived twice" in d.message


# --- spec tests (.test.yaml) ---------------------------------------------------------------------
CASE = """\
spec: s.yaml
cases:
  - name: c
    as_of: 2025-06-30
    data:
{data}
    expect:
      1: {{not_in: [big]}}
"""


def _spec_test(tmp_path, data: str, schema: bool):
    (tmp_path / "s.yaml").write_text(spec_text({"big": "ltv > 10"}, schema=schema))
    (tmp_path / "s.test.yaml").write_text(CASE.format(data=data))
    return invoke("test", tmp_path / "s.yaml")


def test_rare_fixture_column_the_schema_lacks_is_sr135(tmp_path):
    result = _spec_test(tmp_path, "      customers: [{customer_id: 1, colour: red}]", schema=True)
    assert result.exit_code == 2, result.output
    assert f"{tmp_path / 's.test.yaml'}:6:36: error[SR135]: column 'colour' is not in the spec's schema of " \
           "'customers'" in result.output


def test_rare_table_without_rows_or_schema_is_sr137(tmp_path):
    data = ("      orders: [{customer_id: 1, amount: 5.0, ordered_at: 2025-06-01}]\n"
            "      events: [{customer_id: 1, ts: 2025-06-01, name: x}]")
    result = _spec_test(tmp_path, data, schema=False)
    assert result.exit_code == 2, result.output
    assert f"{tmp_path / 's.test.yaml'}:2:1: error[SR137]: table 'customers' has no rows in any case and no " \
           "declared schema" in result.output


def test_rare_spec_that_does_not_check_against_the_fixtures_is_sr137(tmp_path):
    data = ("      customers: [{customer_id: 1, email: x}]\n"
            "      orders: [{customer_id: 1, amount: lots, ordered_at: 2025-06-01}]\n"
            "      events: [{customer_id: 1, ts: 2025-06-01, name: x}]")
    result = _spec_test(tmp_path, data, schema=False)
    assert result.exit_code == 2, result.output
    assert "error[SR405]" in result.output  # sum() of the string column `amount`, at the rule
    assert "error[SR137]: the spec does not check against the fixture tables" in result.output


# --- plugins' own checks --------------------------------------------------------------------------
def test_rare_rfm_thresholds_with_quantiles_is_a_warning_rfm103(tmp_path):
    text = spec_text({"big": "ltv > 10"}).replace(
        "segments:\n", "rfm: {source: orders, amount: amount, method: quantiles,\n"
        "      thresholds: {recency_days: [30, 60, 90, 120], frequency: [2, 3, 4, 5], "
        "monetary: [100, 200, 300, 400]}}\nsegments:\n")
    (tmp_path / "s.yaml").write_text(text)
    result = invoke("validate", tmp_path / "s.yaml")
    assert result.exit_code == 0, result.output
    assert f"{tmp_path / 's.yaml'}:12:7: warning[RFM103]: rfm: thresholds are ignored with method: quantiles" \
           in result.output


# --- databases and outputs ------------------------------------------------------------------------
PEOPLE_SPEC = "version: 1\nname: p\nentity: {table: people, key: id}\nsegments:\n  all:\n    where: id > 0\n"


def test_rare_database_that_refuses_the_connection_is_sr701(tmp_path):
    (tmp_path / "p.yaml").write_text(PEOPLE_SPEC)
    result = invoke("run", tmp_path / "p.yaml", "--db", "postgres://nobody:secret@127.0.0.1:1/none")
    assert result.exit_code == 2, result.output
    assert "error[SR701]: cannot connect to postgres://nobody:***@127.0.0.1:1/none" in result.output
    assert "secret" not in result.output


def test_rare_query_that_fails_in_the_database_is_sr703(tmp_path):
    """A view whose rows fail to convert only when read: the check passes (the types are right),
    the query fails in DuckDB."""
    import duckdb

    db = tmp_path / "p.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("create table raw_people as select * from (values ('1'), ('two')) t(raw)")
        con.execute("create view people as select cast(raw as bigint) as id from raw_people")
    (tmp_path / "p.yaml").write_text(PEOPLE_SPEC)
    result = invoke("run", tmp_path / "p.yaml", "--db", db)
    assert result.exit_code == 2, result.output
    assert "error[SR703]" in result.output and "Conversion Error" in result.output


def test_rare_out_file_no_sink_writes_is_sr803(tmp_path):
    db = tmp_path / "p.duckdb"
    con = ibis.duckdb.connect(str(db))
    con.create_table("people", pa.table({"id": pa.array([1, 2], pa.int64())}))
    con.disconnect()
    (tmp_path / "p.yaml").write_text(PEOPLE_SPEC)
    result = invoke("run", tmp_path / "p.yaml", "--db", db, "--out", tmp_path / "members.xlsx")
    assert result.exit_code == 2, result.output
    assert "error[SR803]: --out" in result.output and "no sink writes this kind of file" in result.output
    assert not (tmp_path / "members.xlsx").exists()


# --- sync -----------------------------------------------------------------------------------------
def test_rare_klaviyo_import_job_that_never_finishes_is_sr824(tmp_path):
    from emulators.klaviyo import KlaviyoEmulator

    from sync_helpers import people_db, run_sync
    from test_sync_klaviyo import ENV, KEY, PEOPLE, klaviyo_spec

    with people_db(PEOPLE) as con, KlaviyoEmulator(KEY, job_polls=10**6) as emu:
        emu.create_list("L1")
        text = re.sub(r"( +)timeout: 0.5\n", r"\g<0>\1job_timeout: 0.05\n", klaviyo_spec(emu.url))
        (o,) = run_sync(text, con, tmp_path / "s.duckdb", env=ENV)
    assert o.status == "failed"
    assert o.error.startswith("klaviyo: job /api/profile-bulk-import-jobs/") and "did not finish within 0s" in o.error


def test_rare_table_destination_that_cannot_write_is_sr835_and_leaves_the_target(tmp_path):
    import duckdb

    from sync_helpers import people_db, run_sync, spec_text as sync_spec
    from test_sync_engine import PEOPLE

    out = tmp_path / "out.duckdb"
    with duckdb.connect(str(out)) as target:  # someone else's view already has the name
        target.execute("create view active_people as select 42 as answer")
    text = sync_spec(f"t:\n  type: table\n  db: {out}\n  table: active_people",
                     "to_table:\n  segment: active\n  destination: t\n  identify_by: email")
    with people_db(PEOPLE) as con:
        (o,) = run_sync(text, con, tmp_path / "s.duckdb")
    assert o.status == "failed"
    assert o.error.startswith(f"table active_people in {out}: CatalogException")
    with duckdb.connect(str(out)) as target:
        assert target.execute("select * from active_people").fetchall() == [(42,)]


@pytest.fixture
def synced(tmp_path):
    """A people database and a state store holding one webhook sync run."""
    from emulators import WebhookReceiver

    from sync_helpers import write_people
    from test_sync_engine import PEOPLE, SECRET, hook_spec

    db, state = tmp_path / "people.duckdb", tmp_path / "state.duckdb"
    con = ibis.duckdb.connect(str(db))
    write_people(con, PEOPLE)
    con.disconnect()
    with WebhookReceiver(secret=SECRET) as hook:
        (tmp_path / "spec.yaml").write_text(hook_spec(hook.url))
        result = _sync_again(tmp_path, db, state)
        assert result.exit_code == 0, result.output
        yield tmp_path, db, state


def test_rare_sync_log_export_to_an_unknown_file_kind_is_sr773(synced):
    tmp, _, state = synced
    result = invoke("sync-log", "--state", state, "--export", tmp / "log.xlsx")
    assert result.exit_code == 2, result.output
    assert "error[SR773]: --export" in result.output and not (tmp / "log.xlsx").exists()


def test_rare_sync_log_of_a_run_on_a_store_without_syncs_is_sr772(tmp_path):
    result = invoke("sync-log", "--state", tmp_path / "fresh.duckdb", "--run", "abc123")
    assert result.exit_code == 2, result.output
    assert "error[SR772]: the state store has no sync runs yet" in result.output


def _sync_again(tmp, db, state):
    from test_sync_engine import SECRET

    return CliRunner().invoke(main, ["sync", str(tmp / "spec.yaml"), "--db", str(db), "--state", str(state)],
                              env={"HOOK_SECRET": SECRET})


def test_rare_sync_table_made_by_someone_else_is_sr771(synced):
    import duckdb

    tmp, db, state = synced
    with duckdb.connect(str(state)) as con:
        con.execute("drop table sync_runs")
        con.execute("create table sync_runs (id integer)")
    result = _sync_again(tmp, db, state)
    assert result.exit_code == 2, result.output
    assert "error[SR771]" in result.output and "table sync_runs lacks columns" in result.output


def test_rare_sync_state_the_store_cannot_write_is_sr770(synced):
    """The store's sync_changes is a view (a database admin's "fix"): recording the run fails
    cleanly, naming the store and the step."""
    import duckdb

    tmp, db, state = synced
    with duckdb.connect(str(state)) as con:
        con.execute("alter table sync_changes rename to sync_changes_kept")
        con.execute("create view sync_changes as select * from sync_changes_kept")
    from sync_helpers import write_people
    from test_sync_engine import PEOPLE

    con = ibis.duckdb.connect(str(db))
    write_people(con, {k: v for k, v in PEOPLE.items() if k != 1})  # a change to record
    con.disconnect()
    result = _sync_again(tmp, db, state)
    assert result.exit_code == 1, result.output  # the sync failed; the next run retries it
    text = " ".join(result.output.split())
    assert f"active_hook: state store {state}: writing sync_changes failed: CatalogException" in text
