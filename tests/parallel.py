"""The suite runs on pytest-xdist workers (``-n auto`` in pyproject.toml); what they must not share.

* PostgreSQL: each worker gets its own database on the server of ``SEGRULES_POSTGRES_URL``
  (``<database>_<worker>``, created afresh for the run), and the variable is rewritten before any
  test module reads it, so tests that create and drop tables never meet another worker's.
* Order: the tests of a module run on one worker, in their order (:func:`scope`), so
  module-scoped fixtures are built once and a test may rely on an earlier one of its module;
  the long independent tests of the modules in :data:`SPLIT` are shared out one by one. The Spark
  tests are one unit: one worker, one SparkSession. The long units (:data:`HEAVY`) are handed out
  first, then the others by their number of tests.

Loaded by conftest.py as a pytest plugin. Without xdist (``-n 0``, or ``-p no:xdist``) it does nothing.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest


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


SPLIT = {"tests/test_docs_commands.py"}  # independent long tests: shared out one by one


def scope(nodeid: str) -> str:
    """The unit one worker runs in order: ``spark`` for the Spark tests (a module with ``spark`` in
    its name, or a test parametrized with the ``spark`` backend), the test itself in :data:`SPLIT`,
    else its module."""
    module, _, rest = nodeid.partition("::")
    params = rest.partition("[")[2].rstrip("]").split("-")
    if "spark" in Path(module).stem or "spark" in params:
        return "spark"
    return nodeid if module in SPLIT else module


#: Units that take long (seconds in a CI run), started first so no worker is left with one of
#: them at the end while the other idles; the other units follow, those with more tests first.
HEAVY = {
    "spark": 600,
    "tests/test_sync_vendors_scale.py": 200,
    "tests/test_docs_commands.py::test_docs_commands_page[docs/performance.md]": 190,
    "tests/test_docs_commands.py::test_docs_commands_page[docs/cli.md]": 100,
    "tests/test_readme_setup.py": 70,
    "tests/test_docs_commands.py::test_docs_commands_page[README.md]": 70,
    "tests/test_docs_commands.py::test_docs_commands_page[docs/history.md]": 55,
}


def heaviest_first(units: dict[str, dict[str, bool]]) -> list[tuple[str, dict[str, bool]]]:
    """xdist's work queue (unit -> its tests) with the units of :data:`HEAVY` first, longest
    first, then the others by their number of tests, as xdist orders them."""
    return sorted(units.items(), key=lambda item: (-HEAVY.get(item[0], 0), -len(item[1])))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Controller: xdist's load-scope scheduling with :func:`scope` as the unit (xdist's own
    ``xdist_group`` marks do not reach the node ids under pytest 9)."""
    from xdist.scheduler import LoadScopeScheduling

    class ScopeScheduling(LoadScopeScheduling):
        ordered = False

        def _split_scope(self, nodeid: str) -> str:
            return scope(nodeid)

        def _assign_work_unit(self, node) -> None:
            if not self.ordered:  # the work queue is complete before the first unit is sent
                self.workqueue = OrderedDict(heaviest_first(self.workqueue))
                self.ordered = True
            super()._assign_work_unit(node)

    return ScopeScheduling(config, log)
