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

import importlib.util
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from ..errors import BackendError
from .targets import Secret, SparkTarget

SCHEMES = ("pyspark", "spark", "sc")
_OWN_KEYS = ("master", "catalog", "database", "token")


def is_spark_url(url: str | None) -> bool:
    return bool(url) and "://" in str(url) and str(url).split("://", 1)[0].lower() in SCHEMES


def target_from_url(url: str) -> SparkTarget:
    """The target a ``pyspark://``, ``spark://`` or ``sc://`` URL names."""
    scheme = url.split("://", 1)[0].lower()
    if scheme == "sc":  # Spark Connect's own parameters (user_id, use_ssl…) stay in its URL
        base, _, params = url.partition(";")
        own, kept = {}, []
        for item in filter(None, params.split(";")):
            name, _, value = item.partition("=")
            if name in _OWN_KEYS[1:] or name.startswith("spark."):
                own[name] = value
            else:
                kept.append(item)
        return _target(own, remote=";".join([base, *kept]))
    parts = urlsplit(url)
    own = dict(parse_qsl(parts.query, keep_blank_values=True))
    if scheme == "spark":
        master = f"spark://{parts.netloc}"
        if own.get("master", master) != master:
            raise BackendError(f"spark: {master} and master={own['master']} name two masters", code="SR701")
        own["master"] = master
    elif location := parts.netloc + parts.path:  # pyspark://DIR (relative), pyspark:///DIR (absolute)
        own.update({k: v for k, v in warehouse_settings(location).items() if k not in own})
    return _target(own)


def warehouse_settings(directory: str) -> dict[str, str]:
    """A local warehouse that keeps its tables between runs: Hive's catalog with its metastore
    (Derby) in the directory."""
    path = Path(directory).absolute()
    return {"spark.sql.warehouse.dir": str(path),
            "spark.sql.catalogImplementation": "hive",
            "spark.hadoop.javax.jdo.option.ConnectionURL": f"jdbc:derby:;databaseName={path / 'metastore_db'};create=true",
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={path}"}


def _target(values: dict[str, str], remote: str | None = None) -> SparkTarget:
    own = {k: values.pop(k) for k in _OWN_KEYS if k in values}
    token = own.pop("token", None)
    return SparkTarget(remote=remote, settings=tuple(values.items()), token=Secret(token) if token else None, **own)


def check_target(target: SparkTarget) -> None:
    if target.master and target.remote:
        raise BackendError(f"spark: master {target.master} and Spark Connect {target.describe()} exclude each "
                           "other; give one", code="SR701")
    bad = sorted(k for k, _ in target.settings if not k.startswith("spark."))
    if bad:
        raise BackendError(f"spark: {', '.join(bad)} is not a Spark setting (spark.*) nor one of "
                           f"{', '.join(_OWN_KEYS)}", code="SR701")


def spark_connect(target: SparkTarget):
    """An Ibis PySpark connection for ``target``, its session built with every setting."""
    check_target(target)
    if importlib.util.find_spec("pyspark") is None:
        raise BackendError(f"cannot connect to {target.describe()}: pyspark is not installed", code="SR701",
                           hint="install the extra: pip install 'segrules[spark]' (pyspark 4.0.5, which needs Java 17)")
    try:
        session, owned = _session(target)
        if target.catalog:
            session.catalog.setCurrentCatalog(target.catalog)
        if target.database:
            session.catalog.setCurrentDatabase(target.database)
    except BackendError:
        raise
    except Exception as exc:  # py4j / Spark Connect errors: the message is what the user needs
        message = _first_line(exc)
        if target.token is not None:
            message = message.replace(target.token.reveal(), "***")
        raise BackendError(f"cannot connect to {target.describe()}: {type(exc).__name__}: {message}",
                           code="SR701") from None
    from .spark_backend import SparkBackend

    return SparkBackend.from_session(session, owned=owned)


def _session(target: SparkTarget):
    """The session, and whether this call started it (only then does disconnecting stop it)."""
    from pyspark.sql import SparkSession

    conf = dict(target.settings)
    builder = SparkSession.builder
    active = SparkSession.getActiveSession()
    if target.remote:
        remote = target.remote + (f";token={target.token.reveal()}" if target.token is not None else "")
        builder = builder.remote(remote)
    else:
        builder = builder.master(target.master or "local[*]")
        if active is not None:
            _check_static(active, conf)
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    return session, active is None or session is not active


def _check_static(session, conf: dict[str, str]) -> None:
    """A running session keeps its static settings: asking for other values is an error, not a no-op."""
    differ = []
    for key, value in conf.items():
        if session.conf.isModifiable(key):
            continue
        try:  # a static setting nobody set reads as Spark's default only without a fallback
            current = session.conf.get(key)
        except Exception:  # no default either (e.g. a Hadoop setting): nothing to compare with
            current = None
        if current is not None and current != value:
            differ.append(f"{key}={value} (running: {current})")
    if differ:
        raise BackendError("spark: a SparkSession is already running in this process and these settings "
                           "can only be set when it starts: " + "; ".join(differ), code="SR701",
                           hint="connect with the running session's settings, or start a new process")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""


def register_sql_options() -> None:
    """Ibis's Spark SQL compiler reads ``ibis.options.pyspark``, which exists once its backend is
    loaded (that needs pyspark); ``compile --dialect spark`` needs neither, so without pyspark the
    options get their default value here."""
    import ibis

    if getattr(ibis.options, "pyspark", None) is not None:
        return
    try:
        ibis.pyspark  # noqa: B018 -- registers the backend's options
    except ImportError:
        from ibis.config import Config

        class Options(Config):
            treat_nan_as_null: bool = False  # Ibis's default

        ibis.options.pyspark = Options()
