"""Connections: a URL (a DuckDB file path, the embedded default, or any Ibis URL) or a typed
target (:mod:`segrules.run.targets`) -> an Ibis backend, through one table of connectors keyed
by the target's ``type``. The Spark connector lives in :mod:`segrules.run.spark`."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from ..errors import BackendError
from .targets import (BigQueryTarget, DuckDBTarget, PostgresTarget, SnowflakeTarget, Target, UrlTarget, describe,
                      from_url, scrub)


def connect(target: "str | Target | None" = None, *, read_only: bool = False, must_exist: bool = True):
    """Connect to ``target``: None or ``:memory:`` -> in-memory DuckDB; a path -> that DuckDB file;
    ``scheme://...`` -> ``ibis.connect`` (postgres://, snowflake://, bigquery://, trino://, ...);
    a typed target (a profile's ``type: postgres`` ...) -> its engine's connector.
    SR701 when the engine refuses (its message, secrets masked), SR705 for a type with no connector."""
    found = from_url(target) if target is None or isinstance(target, str) else target
    connector = CONNECTORS.get(found.type)
    if connector is None:
        raise BackendError(f"no connector for {found.type} targets ({describe(found)})", code="SR705",
                           hint=f"connectors: {', '.join(sorted(CONNECTORS))}")
    try:
        return connector(found, read_only=read_only, must_exist=must_exist)
    except BackendError:
        raise
    except Exception as exc:  # drivers raise their own types; the user needs the message, not a secret
        message = scrub(f"{type(exc).__name__}: {exc}", found)
        raise BackendError(f"cannot connect to {describe(found)}: {message}", code="SR701") from None


def _duckdb(target: DuckDBTarget, *, read_only: bool, must_exist: bool):
    import ibis  # here, not at import: `segrules --version` and offline `validate` never connect
    if target.memory:
        return ibis.duckdb.connect()
    path = Path(str(target.path))
    if must_exist and not path.exists():
        raise BackendError(f"database file {target.path} does not exist", code="SR702",
                           hint=f"create demo data with: segrules demo-data {target.path}")
    return ibis.duckdb.connect(str(path), read_only=read_only)


def _url(target: UrlTarget, *, read_only: bool, must_exist: bool):
    from .spark import is_spark_url, spark_connect, target_from_url
    if is_spark_url(target.url.reveal()):  # not Ibis's route: it sets static Spark settings too late
        return spark_connect(target_from_url(target.url.reveal()))
    import ibis
    return ibis.connect(target.url.reveal())


def _postgres(target: PostgresTarget, *, read_only: bool, must_exist: bool):
    import ibis
    kwargs: dict[str, Any] = {"host": target.host, "port": target.port, "database": target.dbname,
                              "user": target.user}
    if target.password is not None:
        kwargs["password"] = target.password.reveal()
    if target.schema:
        kwargs["schema"] = target.schema
    return ibis.postgres.connect(**{k: v for k, v in kwargs.items() if v is not None})


def _snowflake(target: SnowflakeTarget, *, read_only: bool, must_exist: bool):
    import ibis
    return ibis.snowflake.connect(**snowflake_kwargs(target))


def snowflake_kwargs(target: SnowflakeTarget) -> dict[str, Any]:
    """``ibis.snowflake.connect``'s arguments (its ``database`` is ``database/schema``)."""
    kwargs: dict[str, Any] = {"account": target.account, "user": target.user, "warehouse": target.warehouse,
                              "role": target.role}
    if target.database:
        kwargs["database"] = f"{target.database}/{target.schema}" if target.schema else target.database
    if target.password is not None:
        kwargs["password"] = target.password.reveal()
    return {k: v for k, v in kwargs.items() if v is not None}


def _bigquery(target: BigQueryTarget, *, read_only: bool, must_exist: bool):
    import ibis
    return ibis.bigquery.connect(**bigquery_kwargs(target))


def bigquery_kwargs(target: BigQueryTarget) -> dict[str, Any]:
    """``ibis.bigquery.connect``'s arguments (credentials: the environment's, as gcloud sets them)."""
    return {"project_id": target.project, "dataset_id": target.dataset or ""}


def _spark(target, *, read_only: bool, must_exist: bool):
    """Spark (:mod:`segrules.run.spark`): imported here, pyspark only when a Spark target connects."""
    from .spark import spark_connect
    return spark_connect(target)


# type -> connector(target, read_only=, must_exist=) -> Ibis backend. One table: a new engine is a row.
CONNECTORS: dict[str, Callable[..., Any]] = {
    "duckdb": _duckdb,
    "postgres": _postgres,
    "snowflake": _snowflake,
    "bigquery": _bigquery,
    "spark": _spark,
    "url": _url,
}


def redact(url: "str | Target | None") -> str:
    """The URL (or target) as messages show it: any password, token or secret parameter hidden,
    nothing added (``postgres://ana@wh/db`` stays as it is)."""
    return describe(url) if url not in (None, "") else str(url)
