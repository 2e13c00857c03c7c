"""Typed targets and profiles (issue 16): `type: duckdb|postgres|spark|snowflake|bigquery` with
their fields in segrules.yml and ~/.segrules/profiles.yml, `{{ env_var() }}`, positioned errors,
the `connect(target)` dispatch, and no secret in any message."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segrules.errors import BackendError, SpecError
from segrules.project import load_project, profiles_file
from segrules.project.env import interpolate
from segrules.run import connect, redact
from segrules.run.connect import CONNECTORS, bigquery_kwargs, snowflake_kwargs
from segrules.run.targets import (BigQueryTarget, DuckDBTarget, PostgresTarget, Secret, SnowflakeTarget, SparkTarget,
                                  UrlTarget, describe, from_url, scrub)

PG_URL = os.environ.get("SEGRULES_POSTGRES_URL")


def _codes(exc) -> list[tuple[str, int, int]]:
    return [(d.code, d.span.line if d.span else 0, d.span.column if d.span else 0) for d in exc.value.diagnostics]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty profiles folder (SEGRULES_PROFILES_DIR) and a project folder as the current one."""
    profiles = tmp_path / "home"
    profiles.mkdir()
    monkeypatch.delenv("SEGRULES_PROFILES", raising=False)
    monkeypatch.setenv("SEGRULES_PROFILES_DIR", str(profiles))
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    return profiles


# -- {{ env_var() }} -------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("{{ env_var('A') }}", "x"),
    ('{{env_var("A")}}', "x"),
    ("{{ env_var('UNSET', 'dflt') }}", "dflt"),
    ("{{ env_var('EMPTY', 'dflt') }}", ""),  # dbt's rule: a variable set to "" is ""
    ("{{ env_var('UNSET', 'a, b') }}", "a, b"),
    ("pre-${A}-{{ env_var('A') }}", "pre-x-x"),
])
def test_profiles_env_var_forms(text, expected):
    assert interpolate(text, environ={"A": "x", "EMPTY": ""}) == expected


@pytest.mark.parametrize("text", ["{{ env_var('UNSET') }}", "{{ secrets.pw }}", "{{ env_var(A) }}", "{{ x"])
def test_profiles_env_var_unset_or_other_template_is_sr162(text):
    with pytest.raises(SpecError) as exc:
        interpolate(text, environ={})
    assert _codes(exc)[0][0] == "SR162"


def test_profiles_env_var_error_never_shows_a_literal_password():
    with pytest.raises(SpecError) as exc:
        interpolate("postgres://ana:hunter2@wh/{{ env_var('DB') }}", environ={})
    assert "hunter2" not in str(exc.value) and "ana:***@wh" in str(exc.value)


# -- profiles file location ---------------------------------------------------------------

def test_profiles_file_dir_env_and_file_env(home, monkeypatch):
    assert profiles_file() == home / "profiles.yml"
    monkeypatch.setenv("SEGRULES_PROFILES", str(home / "other.yml"))
    assert profiles_file() == home / "other.yml"  # the file wins over the folder
    monkeypatch.delenv("SEGRULES_PROFILES")
    monkeypatch.delenv("SEGRULES_PROFILES_DIR")
    monkeypatch.setenv("HOME", str(home))
    assert profiles_file() == home / ".segrules" / "profiles.yml"


# -- typed targets resolved -------------------------------------------------------------------

PROFILES = """\
profiles:
  warehouse:
    type: postgres
    host: db.internal
    port: "{{ env_var('WH_PORT', '6543') }}"
    user: analyst
    password: "{{ env_var('WH_PASSWORD') }}"
    dbname: analytics
    schema: marts
  lake:
    type: spark
    master: local[2]
    catalog: spark_catalog
    database: shop
    settings:
      spark.sql.shuffle.partitions: 4
      spark.sql.ansi.enabled: true
  remote:
    type: spark
    remote: sc://spark.internal:15002
    token: "{{ env_var('SPARK_TOKEN') }}"
  snow:
    type: snowflake
    account: xy12345.eu-west-1
    user: analyst
    password: ${SNOW_PASSWORD}
    database: analytics
    schema: marts
    warehouse: compute_wh
    role: analyst
  bq:
    type: bigquery
    project: my-project
    dataset: shop
  local:
    type: duckdb
    path: data/shop.duckdb
    as_of: 2026-10-01
"""


def test_profiles_typed_targets_resolve_to_their_engine(home, monkeypatch):
    (home / "profiles.yml").write_text(PROFILES)
    Path("segrules.yml").write_text("version: 1\ntarget: wh\ntargets:\n  wh: {profile: warehouse}\n")
    monkeypatch.setenv("WH_PASSWORD", "s3cret!")
    monkeypatch.setenv("SPARK_TOKEN", "tok123")
    monkeypatch.setenv("SNOW_PASSWORD", "snowpw")
    project = load_project()
    wh = project.target().db
    assert wh == PostgresTarget(host="db.internal", port=6543, user="analyst", password=Secret("s3cret!"),
                                dbname="analytics", schema="marts")
    lake = project.target("lake").db  # --target NAME: a profile when the project has no such target
    assert lake == SparkTarget(master="local[2]", catalog="spark_catalog", database="shop",
                               settings=(("spark.sql.shuffle.partitions", "4"), ("spark.sql.ansi.enabled", "true")))
    assert project.target("remote").db.remote == "sc://spark.internal:15002"
    assert project.target("snow").db == SnowflakeTarget(
        account="xy12345.eu-west-1", user="analyst", password=Secret("snowpw"), database="analytics",
        schema="marts", warehouse="compute_wh", role="analyst")
    assert project.target("bq").db == BigQueryTarget(project="my-project", dataset="shop")
    local = project.target("local")
    assert local.db == DuckDBTarget(str(Path.cwd() / "data/shop.duckdb")) and str(local.as_of) == "2026-10-01"
    shown = " ".join(str(project.target(n).db) + repr(project.target(n).db)
                     for n in ("wh", "lake", "remote", "snow", "bq", "local"))
    assert not any(secret in shown for secret in ("s3cret!", "tok123", "snowpw"))
    assert "postgres://analyst@db.internal:6543/analytics" in shown


def test_profiles_target_without_project_names_a_profile(home, monkeypatch):
    from segrules.project.resolve import Selection
    (home / "profiles.yml").write_text(PROFILES)
    assert Selection(None).target(None, "bq").db == BigQueryTarget(project="my-project", dataset="shop")
    with pytest.raises(SpecError) as exc:
        Selection(None).target(None, "nope")
    assert exc.value.diagnostics[0].code == "SR161" and "no profile 'nope'" in str(exc.value)


def test_profiles_typed_target_in_project_file(home):
    Path("segrules.yml").write_text("version: 1\ntargets:\n  dev:\n    type: duckdb\n    path: dev.duckdb\n")
    assert load_project().target("dev").db == DuckDBTarget(str(Path.cwd() / "dev.duckdb"))


# -- positioned errors --------------------------------------------------------------------------

def test_profiles_field_of_another_type_is_sr172_at_its_key(home):
    (home / "profiles.yml").write_text("profiles:\n  wh:\n    type: postgres\n    host: h\n    dbname: d\n"
                                       "    warehouse: w\n  x:\n    host: h\n    db: x.duckdb\n")
    Path("segrules.yml").write_text("version: 1\ntargets:\n  t: {profile: wh}\n")
    with pytest.raises(SpecError) as exc:
        load_project().target("t")
    assert _codes(exc) == [("SR172", 6, 5), ("SR172", 8, 5)]
    assert str(home / "profiles.yml") in exc.value.diagnostics[0].span.file


def test_profiles_missing_field_and_bad_settings_are_sr173(home):
    Path("segrules.yml").write_text(
        "version: 1\ntargets:\n  pg:\n    type: postgres\n    host: h\n"
        "  sp:\n    type: spark\n    master: local\n    remote: sc://h:15002\n    settings: {shuffle: 2}\n"
        "  both: {type: duckdb, path: a.duckdb, db: b.duckdb}\n")
    with pytest.raises(SpecError) as exc:
        load_project()
    assert _codes(exc) == [("SR173", 4, 11), ("SR173", 9, 5), ("SR173", 10, 16), ("SR172", 11, 40)]
    assert "needs dbname" in str(exc.value)


def test_profiles_unknown_type_and_unknown_key_are_positioned(home):
    Path("segrules.yml").write_text("version: 1\ntargets:\n  a: {type: oracle}\n  b: {type: postgres, hostt: h}\n")
    with pytest.raises(SpecError) as exc:
        load_project()
    assert [c for c, *_ in _codes(exc)] == ["SR100", "SR105"]
    assert _codes(exc)[1][1:] == (4, 23)


def test_profiles_bad_port_and_unset_variable_when_used(home, monkeypatch):
    Path("segrules.yml").write_text(
        "version: 1\ntargets:\n  pg:\n    type: postgres\n    host: h\n    dbname: d\n"
        "    port: \"{{ env_var('P', 'abc') }}\"\n    password: \"{{ env_var('PW') }}\"\n")
    project = load_project()  # loading reads no variable
    monkeypatch.setenv("P", "6543")
    with pytest.raises(SpecError) as exc:
        project.target("pg")
    assert _codes(exc) == [("SR162", 8, 15)]
    monkeypatch.setenv("PW", "x")
    monkeypatch.delenv("P")
    with pytest.raises(SpecError) as exc:
        project.target("pg")
    assert _codes(exc) == [("SR173", 7, 11)]


# -- redaction ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, shown", [
    ("postgres://ana@wh:5432/analytics", "postgres://ana@wh:5432/analytics"),   # nothing invented
    ("postgres://ana:pw@wh/analytics", "postgres://ana:***@wh/analytics"),
    ("postgres://ana:@wh/analytics", "postgres://ana:@wh/analytics"),
    ("postgres://wh/analytics?user=ana&password=pw", "postgres://wh/analytics?user=ana&password=***"),
    ("sc://spark:15002/;token=abc;user_id=ana", "sc://spark:15002/;token=***;user_id=ana"),
    ("shop.duckdb", "shop.duckdb"),
    ("pyspark://?master=local[2]&database=shop", "pyspark://?master=local[2]&database=shop"),  # no host: keeps //
    ("pyspark:///data/wh", "pyspark:///data/wh"),
    (None, "None"),
])
def test_profiles_redact_hides_secrets_and_invents_nothing(url, shown):
    assert redact(url) == shown


def test_profiles_typed_targets_describe_without_secrets():
    pg = PostgresTarget(host="h", dbname="d", password=Secret("pw"))
    assert describe(pg) == "postgres://h:5432/d" and "pw" not in repr(pg)
    assert str(SparkTarget(remote="sc://h:15002/;token=t1")) == "spark (sc://h:15002/;token=***)"
    assert scrub("refused token t1 and t2", SparkTarget(remote="sc://h/;token=t1", token=Secret("t2"))) == \
        "refused token *** and ***"
    assert describe(SparkTarget(master="local[2]", catalog="c", database="d")) == "spark (master local[2]) c.d"


# -- connect(target) dispatch ----------------------------------------------------------------------

def test_profiles_connect_dispatches_on_type(monkeypatch):
    seen = []
    for kind in ("snowflake", "bigquery"):
        monkeypatch.setitem(CONNECTORS, kind, lambda target, **kw: seen.append(target) or target.type)
    snow = SnowflakeTarget(account="acc", user="u", password=Secret("pw"), database="db", schema="s", warehouse="wh")
    assert connect(snow) == "snowflake" and connect(BigQueryTarget(project="p")) == "bigquery"
    assert seen == [snow, BigQueryTarget(project="p")]
    # what the engines' Ibis backends are given
    assert snowflake_kwargs(snow) == {"account": "acc", "user": "u", "password": "pw", "database": "db/s",
                                      "warehouse": "wh"}
    assert bigquery_kwargs(BigQueryTarget(project="p", dataset="d")) == {"project_id": "p", "dataset_id": "d"}
    assert from_url("trino://u@h/c") == UrlTarget(Secret("trino://u@h/c"))
    assert from_url("duckdb://x.duckdb") == DuckDBTarget("x.duckdb") and from_url(None) == DuckDBTarget()


def test_profiles_connect_scrubs_the_password_from_driver_errors(monkeypatch):
    def refuse(target, **kw):
        raise RuntimeError(f"login failed for {target.user} with password {target.password.reveal()}")
    monkeypatch.setitem(CONNECTORS, "snowflake", refuse)
    with pytest.raises(BackendError) as exc:
        connect(SnowflakeTarget(account="acc", user="u", password=Secret("hunter2")))
    assert exc.value.diagnostics[0].code == "SR701" and "hunter2" not in str(exc.value)
    assert "with password ***" in str(exc.value)


def test_profiles_connect_unknown_type_is_sr705(monkeypatch):
    monkeypatch.delitem(CONNECTORS, "bigquery")
    with pytest.raises(BackendError) as exc:
        connect(BigQueryTarget(project="p"))
    assert exc.value.diagnostics[0].code == "SR705"


@pytest.mark.skipif(not PG_URL, reason="SEGRULES_POSTGRES_URL not set")
def test_profiles_postgres_target_connects_and_wrong_password_is_masked(home, monkeypatch):
    from urllib.parse import urlsplit
    url = urlsplit(PG_URL)
    Path("segrules.yml").write_text(
        f"version: 1\ntargets:\n  pg:\n    type: postgres\n    host: {url.hostname}\n    port: {url.port or 5432}\n"
        f"    user: {url.username}\n    password: \"{{{{ env_var('PGPW') }}}}\"\n    dbname: {url.path[1:]}\n")
    monkeypatch.setenv("PGPW", url.password or "")
    con = load_project().target("pg").connect()
    assert con.raw_sql("select 1").fetchone()[0] == 1
    con.disconnect()
    monkeypatch.setenv("PGPW", "wrong-Pa55")
    with pytest.raises(BackendError) as exc:
        load_project().target("pg").connect()
    assert exc.value.diagnostics[0].code == "SR701" and "wrong-Pa55" not in str(exc.value)


def test_profiles_spark_target_goes_to_the_spark_connector(monkeypatch):
    seen = []
    monkeypatch.setitem(CONNECTORS, "spark", lambda target, **kw: seen.append(target) or "session")
    lake = SparkTarget(master="local[2]", settings=(("spark.sql.shuffle.partitions", "2"),))
    assert connect(lake) == "session" and seen == [lake]


_part = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)


@given(user=_part, password=_part, host=_part, db=_part,
       scheme=st.sampled_from(["postgres", "postgresql", "snowflake", "trino", "mysql"]))
@settings(max_examples=50, deadline=None)
def test_profiles_redact_property_hides_the_password_and_keeps_the_rest(user, password, host, db, scheme):
    with_password = f"{scheme}://{user}:{password}@{host}:5432/{db}?sslmode=require&password={password}"
    shown = redact(with_password)
    assert shown == f"{scheme}://{user}:***@{host}:5432/{db}?sslmode=require&password=***"
    without = f"{scheme}://{user}@{host}/{db}"
    assert redact(without) == without  # nothing invented
