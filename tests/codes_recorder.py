"""Records the code of every :class:`~segrules.diagnostics.Diagnostic` built while the suite runs,
so that tests/test_error_codes.py can check that every documented code is produced by some test.

Loaded by conftest.py as a pytest plugin.  Diagnostics built in subprocesses (CLI runs through
``subprocess``) are not seen; every code must also be reachable in-process (CliRunner, the API)."""

from __future__ import annotations

import functools

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
