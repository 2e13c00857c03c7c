"""Spark connections: a local or cluster ``master``, a Spark Connect server (``sc://host:15002``),
a catalog and database, and any ``spark.*`` setting.

Every setting is given to the session *builder*, so static ones (``spark.sql.warehouse.dir``,
``spark.sql.catalogImplementation``…) take effect when the session is created; Ibis's own URL route
sets them on a running session instead and fails with ``CANNOT_MODIFY_CONFIG``. A process has one
SparkSession: when one is already running (a notebook, the test suite) it is reused, the runtime
settings are applied to it and static ones that differ are reported, never silently dropped.

URLs (``--db``)::

    pyspark://                          local[*], Spark's default warehouse
    pyspark://WAREHOUSE_DIR?master=local[2]&database=shop&spark.sql.shuffle.partitions=8
    spark://host:7077?database=shop     a standalone cluster's master URL
    sc://host:15002/;token=…;catalog=main;database=shop;spark.sql.ansi.enabled=true

``WAREHOUSE_DIR`` keeps tables between runs: the catalog is Hive's with its metastore (Derby)
in the directory, so a table written by one process is there for the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from ..errors import BackendError

SCHEMES = ("pyspark", "spark", "sc")
_OWN_KEYS = ("master", "catalog", "database", "warehouse")


@dataclass(frozen=True)
class SparkSettings:
    """Where Spark runs and how its session is built. ``remote`` (Spark Connect) and ``master``
    exclude each other; neither: ``local[*]``."""

    master: str | None = None
    remote: str | None = None
    catalog: str | None = None
    database: str | None = None
    warehouse: str | None = None
    conf: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.master and self.remote:
            raise BackendError(f"spark: master {self.master} and Spark Connect {_hide(self.remote)} "
                               "exclude each other; give one", code="SR701")
        bad = [k for k in self.conf if not k.startswith("spark.")]
        if bad:
            raise BackendError(f"spark: {', '.join(sorted(bad))} is not a Spark setting (spark.*) nor one of "
                               f"{', '.join(_OWN_KEYS)}", code="SR701")

    def builder_conf(self) -> dict[str, str]:
        """Every setting the session builder gets (the warehouse's Hive metastore included)."""
        conf = dict(self.conf)
        if self.warehouse:
            path = Path(self.warehouse).absolute()
            conf.setdefault("spark.sql.warehouse.dir", str(path))
            conf.setdefault("spark.sql.catalogImplementation", "hive")
            conf.setdefault("spark.hadoop.javax.jdo.option.ConnectionURL",
                            f"jdbc:derby:;databaseName={path / 'metastore_db'};create=true")
            conf.setdefault("spark.driver.extraJavaOptions", f"-Dderby.system.home={path}")
        return conf


def is_spark_url(url: str | None) -> bool:
    return bool(url) and url.split("://", 1)[0].lower() in SCHEMES and "://" in url


def settings_from_url(url: str) -> SparkSettings:
    """The settings a ``pyspark://``, ``spark://`` or ``sc://`` URL gives."""
    scheme = url.split("://", 1)[0].lower()
    if scheme == "sc":  # Spark Connect's own parameters (token, user_id, use_ssl…) stay in its URL
        base, _, params = url.partition(";")
        own, kept = {}, []
        for item in filter(None, params.split(";")):
            name, _, value = item.partition("=")
            if name in _OWN_KEYS[1:] or name.startswith("spark."):
                own[name] = value
            else:
                kept.append(item)
        remote = ";".join([base, *kept])
        return _settings(own, remote=remote)
    parts = urlsplit(url)
    own = dict(parse_qsl(parts.query, keep_blank_values=True))
    if scheme == "spark":
        master = f"spark://{parts.netloc}"
        if own.get("master", master) != master:
            raise BackendError(f"spark: {_hide(url)} names two masters", code="SR701")
        own["master"] = master
    elif location := parts.netloc + parts.path:  # pyspark://DIR (relative), pyspark:///DIR (absolute)
        own.setdefault("warehouse", location)
    return _settings(own)


def _settings(values: dict[str, str], remote: str | None = None) -> SparkSettings:
    own = {k: values.pop(k) for k in _OWN_KEYS if k in values}
    return SparkSettings(remote=remote, conf=values, **own)


def spark_connect(settings: SparkSettings):
    """An Ibis PySpark connection for ``settings`` (the session built with all of them)."""
    try:
        session = _session(settings)
        if settings.catalog:
            session.catalog.setCurrentCatalog(settings.catalog)
        if settings.database:
            session.catalog.setCurrentDatabase(settings.database)
    except BackendError:
        raise
    except Exception as exc:  # py4j / Spark Connect errors: the message is what the user needs
        where = _hide(settings.remote) if settings.remote else settings.master or "local[*]"
        raise BackendError(f"cannot connect to spark {where}: {type(exc).__name__}: {_first_line(exc)}",
                           code="SR701") from None
    from .spark_backend import SparkBackend

    return SparkBackend.from_session(session)


def _session(settings: SparkSettings):
    from pyspark.sql import SparkSession

    conf = settings.builder_conf()
    builder = SparkSession.builder
    if settings.remote:
        builder = builder.remote(settings.remote)
    elif settings.master:
        builder = builder.master(settings.master)
    active = None if settings.remote else SparkSession.getActiveSession()
    if active is not None:
        _check_static(active, conf)
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def _check_static(session, conf: dict[str, str]) -> None:
    """A running session keeps its static settings: asking for other values is an error, not a no-op."""
    differ = []
    for key, value in conf.items():
        if session.conf.isModifiable(key):
            continue
        current = session.conf.get(key, None)
        if current is not None and current != value:
            differ.append(f"{key}={value} (running: {current})")
    if differ:
        raise BackendError("spark: a SparkSession is already running in this process and these settings "
                           "can only be set when it starts: " + "; ".join(differ), code="SR701",
                           hint="connect with the running session's settings, or start a new process")


def _hide(url: str | None) -> str:
    """A Spark Connect URL without its token."""
    if not url:
        return ""
    base, *params = url.split(";")
    return ";".join([base, *(p if not p.lower().startswith("token=") else "token=***" for p in params)])


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
