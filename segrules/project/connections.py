"""Typed targets in ``segrules.yml`` and the profiles file: which fields each engine takes (one
table, :data:`FIELDS`), checked with positions when the file is loaded, and resolution into a
:mod:`segrules.run.targets` target when the target is used (environment variables read then).

::

    warehouse:
      type: postgres
      host: db.internal
      user: analyst
      password: "{{ env_var('WAREHOUSE_PASSWORD') }}"
      dbname: analytics
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..diagnostics import Diagnostic
from ..errors import SpecError
from .env import interpolate
from .model import Connection

COMMON = ("type", "as_of", "description", "profile")


@dataclass(frozen=True)
class Fields:
    """The fields of one target type: all it takes, those it needs, and the secret ones."""

    allowed: tuple[str, ...]
    required: tuple[str, ...] = ()
    secret: tuple[str, ...] = ()


FIELDS: dict[str, Fields] = {
    "duckdb": Fields(("path",), ("path",)),
    "postgres": Fields(("host", "port", "user", "password", "dbname", "schema"), ("host", "dbname"), ("password",)),
    "spark": Fields(("master", "remote", "token", "catalog", "database", "settings"), (), ("token",)),
    "snowflake": Fields(("account", "user", "password", "database", "schema", "warehouse", "role"),
                        ("account", "user"), ("password",)),
    "bigquery": Fields(("project", "dataset"), ("project",)),
}
ALL_FIELDS = tuple(dict.fromkeys(f for fields in FIELDS.values() for f in fields.allowed))


def _set_fields(conn: Connection) -> list[str]:
    """The fields written in the file, by their names there (``schema``, not ``schema_``)."""
    names = {name: (info.alias or name) for name, info in type(conn).model_fields.items()}
    return [names[n] for n in conn.model_fields_set if getattr(conn, n) is not None]


def _value(conn: Connection, name: str) -> Any:
    return getattr(conn, "schema_" if name == "schema" else name)


def check_connection(conn: Connection, index, where: tuple) -> list[Diagnostic]:
    """The problems of one target or profile's fields: a field its type does not take or one
    written without ``type:`` (SR172, at the key), a missing required field, ``master`` with
    ``remote``, a setting not named ``spark.*`` (SR173)."""
    written = _set_fields(conn)
    typed = [f for f in written if f in ALL_FIELDS]
    if conn.type is None:
        return [Diagnostic("SR172", f"{'.'.join(where)}: {f}: is a field of typed targets; give type: "
                           f"({', '.join(FIELDS)}) or db: URL", index.key_span(where + (f,)),
                           hint=f"{f} is a field of {', '.join(t for t, fs in FIELDS.items() if f in fs.allowed)}")
                for f in typed]
    fields = FIELDS[conn.type]
    diags = []
    if conn.db is not None:
        diags.append(Diagnostic("SR172", f"{'.'.join(where)}: db: is the URL form of a target; a {conn.type} "
                                "target gives its fields instead", index.key_span(where + ("db",)),
                                hint=f"{conn.type} fields: {', '.join(fields.allowed)}"))
    for f in typed:
        if f not in fields.allowed:
            diags.append(Diagnostic("SR172", f"{'.'.join(where)}: {f}: is not a field of {conn.type} targets",
                                    index.key_span(where + (f,)), hint=f"{conn.type} fields: "
                                    f"{', '.join(fields.allowed)}"))
    missing = [f for f in fields.required if _value(conn, f) is None]
    if missing:
        diags.append(Diagnostic("SR173", f"{'.'.join(where)}: a {conn.type} target needs "
                                f"{' and '.join(missing)}", index.value_span(where + ("type",)),
                                hint=f"{conn.type} fields: {', '.join(fields.allowed)}"))
    if conn.type == "spark":
        if conn.master is not None and conn.remote is not None:
            diags.append(Diagnostic("SR173", f"{'.'.join(where)}: give master: (a local or cluster Spark) or "
                                    "remote: (a Spark Connect server), not both", index.key_span(where + ("remote",))))
        for key in conn.settings or {}:
            if not key.startswith("spark."):
                diags.append(Diagnostic("SR173", f"{'.'.join(where)}.settings: {key!r} is not a Spark setting "
                                        "(spark.*)", index.key_span(where + ("settings", key)),
                                        hint="e.g. spark.sql.shuffle.partitions: 4"))
    return diags


def resolve_connection(conn: Connection, index, where: tuple, local_path: Callable[[str], str],
                       environ=None):
    """The target of a typed ``conn`` (:mod:`segrules.run.targets`), or its ``db:`` text
    (``${...}`` read, a relative DuckDB path made absolute by ``local_path``), or None (no
    database). Environment variables are read now: SR162 at the value for an unset one; SR173
    for a value that is not what its field takes (``port: abc``)."""
    from ..run import targets as t
    if conn.type is None:
        if conn.db is None:
            return None
        return local_path(interpolate(conn.db, index.value_span(where + ("db",)), environ))
    fields = FIELDS[conn.type]

    def read(name: str):
        value = _value(conn, name)
        if value is None:
            return None
        text = interpolate(str(value), index.value_span(where + (name,)), environ)
        return t.Secret(text) if name in fields.secret else text

    if conn.type == "duckdb":
        return t.DuckDBTarget(local_path(read("path")))
    if conn.type == "postgres":
        port = read("port")
        if port is not None and not str(port).isdigit():
            raise SpecError(f"{'.'.join(where)}.port: {port!r} is not a port number", code="SR173",
                            span=index.value_span(where + ("port",)))
        return t.PostgresTarget(host=read("host"), dbname=read("dbname"), user=read("user"),
                                password=read("password"), port=int(port) if port is not None else 5432,
                                schema=read("schema"))
    if conn.type == "spark":
        settings = tuple((k, interpolate(_setting(v), index.value_span(where + ("settings", k)), environ))
                         for k, v in (conn.settings or {}).items())
        return t.SparkTarget(master=read("master"), remote=read("remote"), catalog=read("catalog"),
                             database=read("database"), settings=settings, token=read("token"))
    if conn.type == "snowflake":
        return t.SnowflakeTarget(account=read("account"), user=read("user"), password=read("password"),
                                 database=read("database"), schema=read("schema"), warehouse=read("warehouse"),
                                 role=read("role"))
    return t.BigQueryTarget(project=read("project"), dataset=read("dataset"))


def _setting(value: Any) -> str:
    """A Spark setting as Spark reads it: booleans lower-case (``true``), numbers as written."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def relative_to(base: Path) -> Callable[[str], str]:
    """``local_path`` for targets outside a project: relative DuckDB paths from ``base``."""
    def local(value: str) -> str:
        if "://" in value or value.startswith(":") or Path(value).is_absolute():
            return value
        return str(base / value)
    return local


def check_file_connections(connections: dict, index, section: str) -> None:
    """SR172/SR173 for every target (or profile) of a file, all at once."""
    diags = [d for name, conn in connections.items() for d in check_connection(conn, index, (section, name))]
    if diags:
        raise SpecError(diagnostics=diags)
