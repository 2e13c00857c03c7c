"""Connections: a DuckDB file path (the embedded default) or any Ibis connection URL."""

from __future__ import annotations

from pathlib import Path

from ..errors import BackendError


def connect(url: str | None = None, *, read_only: bool = False, must_exist: bool = True):
    """Connect to ``url``: None or ``:memory:`` -> in-memory DuckDB; a path -> that DuckDB file;
    ``pyspark://``, ``spark://``, ``sc://`` -> Spark (:mod:`.spark`); ``scheme://...`` ->
    ``ibis.connect`` (postgres://, snowflake://, bigquery://, trino://, ...)."""
    from .spark import is_spark_url, settings_from_url, spark_connect

    if is_spark_url(url):  # before Ibis: its URL route cannot set static Spark settings
        return spark_connect(settings_from_url(url))
    import ibis  # here, not at import: `segrules --version` and offline `validate` never connect

    try:
        if url in (None, "", ":memory:", "duckdb://"):
            return ibis.duckdb.connect()
        if "://" not in url:
            path = Path(url)
            if must_exist and not path.exists():
                raise BackendError(f"database file {url} does not exist", code="SR702",
                                   hint="create demo data with: segrules demo-data " + url)
            return ibis.duckdb.connect(str(path), read_only=read_only)
        return ibis.connect(url)
    except BackendError:
        raise
    except Exception as exc:  # drivers raise their own types; the user needs the message
        raise BackendError(f"cannot connect to {redact(url)}: {type(exc).__name__}: {exc}", code="SR701") from None


def redact(url: str | None) -> str:
    """The URL with any password hidden, for messages."""
    if not url or "://" not in url or "@" not in url:
        return str(url)
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
