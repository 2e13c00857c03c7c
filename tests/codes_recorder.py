"""Records the code of every :class:`~segrules.diagnostics.Diagnostic` built while the suite runs,
so that tests/test_error_codes.py can check that every documented code is produced by some test.

Loaded by conftest.py as a pytest plugin.  Diagnostics built in subprocesses (CLI runs through
``subprocess``) are not seen; every code must also be reachable in-process (CliRunner, the API).

On pytest-xdist workers each worker records its own codes; the controller gathers them when the
workers are done and fails the session when the whole suite ran and a documented code is missing
(:func:`pytest_sessionfinish`), since no test can run after every worker."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

PRODUCED: set[str] = set()
DESELECTED: list = []
LAST = "runs_last"  # marker: the test reads PRODUCED, so it runs after every other test


def pytest_configure(config):
    from segrules.diagnostics import Diagnostic

    config.addinivalue_line("markers", f"{LAST}: run after every other test of the session")
    original = Diagnostic.__init__
    if getattr(original, "_records_codes", False):
        return

    @functools.wraps(original)
    def recording_init(self, code, *args, **kwargs):
        PRODUCED.add(code)
        original(self, code, *args, **kwargs)

    recording_init._records_codes = True
    Diagnostic.__init__ = recording_init


def pytest_deselected(items):
    DESELECTED.extend(items)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.get_closest_marker(LAST) is not None)


def whole_suite(session) -> bool:
    """True when this session runs every test module with nothing deselected."""
    option = session.config.option
    if DESELECTED or getattr(option, "keyword", "") or getattr(option, "markexpr", ""):
        return False
    modules = {Path(item.path).resolve() for item in session.items}
    tests = Path(__file__).resolve().parent
    return all(path.resolve() in modules for path in tests.glob("test_*.py"))


def on_worker(config) -> bool:
    return hasattr(config, "workerinput")


_GATHERED: dict[str, list] = {"codes": [], "whole": []}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """Controller: a worker finished; keep what it recorded."""
    output = getattr(node, "workeroutput", {})
    _GATHERED["codes"].extend(output.get("codes", []))
    _GATHERED["whole"].append(output.get("whole_suite", False))


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if on_worker(config):
        config.workeroutput["codes"] = sorted(PRODUCED)
        config.workeroutput["whole_suite"] = whole_suite(session)
        return
    if not _GATHERED["whole"] or not all(_GATHERED["whole"]):
        return  # not under xdist, or not the whole suite: the test itself decides
    from doc_codes import documented_codes

    missing = sorted(documented_codes() - set(_GATHERED["codes"]))
    if missing:
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        reporter.write_sep("=", f"documented codes no test produces ({len(missing)})", red=True)
        reporter.write_line(", ".join(missing))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
