"""The suite runs on pytest-xdist workers (``-n auto`` in pyproject.toml); what they must not share.

* PostgreSQL: each worker gets its own database on the server of ``SEGRULES_POSTGRES_URL``
  (``<database>_<worker>``, created afresh for the run), and the variable is rewritten before any
  test module reads it, so tests that create and drop tables never meet another worker's.
* Groups: tests marked ``pytest.mark.xdist_group(name)`` run on one worker (``--dist loadgroup``);
  a module that builds an expensive module-scoped fixture used by many tests sets it on its
  ``pytestmark`` so the fixture is built once, not once per worker.

Loaded by conftest.py as a pytest plugin. Without xdist (``-n 0``, or ``-p no:xdist``) it does nothing.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit


def worker_id() -> str | None:
    """``gw0``, ``gw1``, … on an xdist worker; None in a plain run or the controller."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def worker_database(url: str, worker: str) -> str:
    """``url`` with its database renamed for ``worker``; the database is dropped and created."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'postgres'}_{worker}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as con:
        con.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlunsplit(parts._replace(path="/" + name))


def pytest_configure(config):
    worker, url = worker_id(), os.environ.get("SEGRULES_POSTGRES_URL")
    if worker and url:
        os.environ["SEGRULES_POSTGRES_URL"] = worker_database(url, worker)
