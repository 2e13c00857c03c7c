"""Typed connection targets: where a spec's tables are, one frozen dataclass per engine.

A target comes from a URL (``--db``, a ``db:`` value: :func:`from_url`) or from a typed profile
(``type: postgres`` and its fields, :mod:`segrules.project.connections`); :func:`segrules.run.connect`
dispatches on its ``type``. Secrets (passwords, tokens) are :class:`Secret` values: ``str()`` and
``repr()`` of a target never show them, and :meth:`describe` is what messages print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Union
from urllib.parse import parse_qsl, urlencode, urlsplit

MEMORY = ":memory:"
# query parameters of a URL whose values are secrets (masked in messages)
SECRET_PARAMS = frozenset({"password", "passwd", "pwd", "token", "secret", "private_key", "private_key_passphrase",
                           "access_token", "api_key", "credentials"})


@dataclass(frozen=True)
class Secret:
    """A secret value: shown as ``***``; :meth:`reveal` is the one way to read it (to connect)."""

    value: str = field(repr=False)

    def reveal(self) -> str:
        return self.value

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret('***')"


class _Target:
    type: ClassVar[str]

    def describe(self) -> str:  # pragma: no cover - every target overrides it
        raise NotImplementedError

    def secrets(self) -> tuple[str, ...]:
        """The secret values of the target (to scrub from driver messages)."""
        return tuple(v.reveal() for v in vars(self).values() if isinstance(v, Secret) and v.reveal())

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True)
class DuckDBTarget(_Target):
    """A DuckDB file, or an in-memory database (``path`` None or ``:memory:``)."""

    type: ClassVar[str] = "duckdb"
    path: str | None = None

    @property
    def memory(self) -> bool:
        return self.path in (None, "", MEMORY)

    def describe(self) -> str:
        return MEMORY if self.memory else str(self.path)


@dataclass(frozen=True)
class PostgresTarget(_Target):
    type: ClassVar[str] = "postgres"
    host: str = "localhost"
    dbname: str | None = None
    user: str | None = None
    password: Secret | None = None
    port: int = 5432
    schema: str | None = None

    def describe(self) -> str:
        user = f"{self.user}@" if self.user else ""  # no password shown, none invented
        text = f"postgres://{user}{self.host}:{self.port}/{self.dbname or ''}"
        return text + (f" (schema {self.schema})" if self.schema else "")


@dataclass(frozen=True)
class SparkTarget(_Target):
    """A local Spark (``master``, e.g. ``local[2]``), or a Spark Connect server (``remote``,
    ``sc://host:15002``); ``catalog`` and ``database`` to read tables from; ``settings``: any
    ``spark.*`` setting, applied when the session is built. Connected by :mod:`segrules.run.spark`."""

    type: ClassVar[str] = "spark"
    master: str | None = None
    remote: str | None = None
    catalog: str | None = None
    database: str | None = None
    settings: tuple[tuple[str, str], ...] = ()
    token: Secret | None = None  # Spark Connect's bearer token (Databricks), never in a URL shown

    def secrets(self) -> tuple[str, ...]:
        in_url = [p.split("=", 1)[1] for p in (self.remote or "").split(";")[1:]
                  if "=" in p and p.split("=", 1)[0].lower() in SECRET_PARAMS]
        return super().secrets() + tuple(s for s in in_url if s)

    def describe(self) -> str:
        where = _redact_url(self.remote) if self.remote else f"master {self.master or 'local[*]'}"
        parts = [f"spark ({where})"]
        if self.catalog or self.database:
            parts.append(".".join(p for p in (self.catalog, self.database) if p))
        return " ".join(parts)


@dataclass(frozen=True)
class SnowflakeTarget(_Target):
    type: ClassVar[str] = "snowflake"
    account: str = ""
    user: str | None = None
    password: Secret | None = None
    database: str | None = None
    schema: str | None = None
    warehouse: str | None = None
    role: str | None = None

    def describe(self) -> str:
        user = f"{self.user}@" if self.user else ""
        path = "/".join(p for p in (self.database, self.schema) if p)
        extra = {k: v for k, v in (("warehouse", self.warehouse), ("role", self.role)) if v}
        return f"snowflake://{user}{self.account}/{path}" + (f"?{urlencode(extra)}" if extra else "")


@dataclass(frozen=True)
class BigQueryTarget(_Target):
    type: ClassVar[str] = "bigquery"
    project: str = ""
    dataset: str | None = None

    def describe(self) -> str:
        return f"bigquery://{self.project}" + (f"/{self.dataset}" if self.dataset else "")


@dataclass(frozen=True)
class UrlTarget(_Target):
    """Any other Ibis connection URL (``trino://``, ``mysql://``, ``postgres://...?sslmode=...``),
    handed to ``ibis.connect`` as written."""

    type: ClassVar[str] = "url"
    url: Secret = Secret("")

    def describe(self) -> str:
        return _redact_url(self.url.reveal())

    def secrets(self) -> tuple[str, ...]:
        password = urlsplit(self.url.reveal()).password if "://" in self.url.reveal() else None
        query = [v for k, v in parse_qsl(urlsplit(self.url.reveal()).query) if k.lower() in SECRET_PARAMS]
        return tuple(s for s in [password, *query] if s)


Target = Union[DuckDBTarget, PostgresTarget, SparkTarget, SnowflakeTarget, BigQueryTarget, UrlTarget]
TYPES: dict[str, type] = {t.type: t for t in (DuckDBTarget, PostgresTarget, SparkTarget, SnowflakeTarget,
                                                 BigQueryTarget)}


def from_url(url: str | None) -> Target:
    """``--db`` / ``db:`` text -> a target: None, ``:memory:`` or ``duckdb://`` -> in-memory DuckDB;
    a path (or ``duckdb://path``) -> that DuckDB file; any other URL -> :class:`UrlTarget`."""
    if url in (None, "", MEMORY, "duckdb://"):
        return DuckDBTarget(None)
    assert url is not None
    if url.startswith("duckdb://"):
        return DuckDBTarget(url[len("duckdb://"):] or None)
    if "://" not in url:
        return DuckDBTarget(url)
    return UrlTarget(Secret(url))


def describe(target: "str | Target | None") -> str:
    """What messages print for a target or URL: no password, token or secret parameter, and
    nothing that is not there (``postgres://ana@wh/db`` stays as it is)."""
    if target is None or isinstance(target, str):
        return _redact_url(target) if target else MEMORY  # a URL as written, its secrets masked
    return target.describe()


def _redact_url(url: str) -> str:
    if "://" not in url:
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        creds, host = netloc.rsplit("@", 1)
        user, colon, password = creds.partition(":")
        netloc = f"{user}{colon}{'***' if password else ''}@{host}"  # an empty password stays empty
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(k.lower() in SECRET_PARAMS for k, _ in pairs):
            query = urlencode([(k, "***" if k.lower() in SECRET_PARAMS else v) for k, v in pairs], safe="*")
    # Spark Connect's ";token=..." parameters
    path = parts.path
    if ";" in path:
        head, *params = path.split(";")
        path = ";".join([head] + [p.split("=", 1)[0] + "=***" if p.split("=", 1)[0].lower() in SECRET_PARAMS
                                  else p for p in params])
    # by hand: urlunsplit drops the "//" of a URL without a host (pyspark://?master=…, duckdb://)
    return (f"{parts.scheme}://{netloc}{path}" + (f"?{query}" if query else "")
            + (f"#{parts.fragment}" if parts.fragment else ""))


def scrub(text: str, target: "str | Target | None") -> str:
    """``text`` (a driver's message) with the target's secrets replaced by ``***``."""
    if target is None:
        return text
    found = from_url(target) if isinstance(target, str) else target
    for secret in sorted(found.secrets(), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
