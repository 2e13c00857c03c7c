"""Headless Chromium for the HTML report tests (RFM, funnels): the DOM after rendering, and a
screenshot. Missing Chromium skips the test locally and fails it in CI (.ci/run installs it)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but chromium is missing: .ci/run installs it")
        pytest.skip("chromium is not installed (CI installs it)")
    return found


def _flags(profile: Path) -> list[str]:
    return ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
            f"--user-data-dir={profile}"]


def rendered_dom(page: Path, profile: Path) -> str:
    """The DOM of the page ``page`` (an HTML file) as Chromium renders it."""
    return subprocess.run([chromium(), *_flags(profile), "--dump-dom", page.as_uri()], capture_output=True,
                          text=True, timeout=120).stdout


def screenshot(page: Path, profile: Path, shot: Path, size: str = "1100,1400") -> bytes:
    """A PNG screenshot of ``page``, its bytes."""
    subprocess.run([chromium(), *_flags(profile), f"--screenshot={shot}", f"--window-size={size}", page.as_uri()],
                   capture_output=True, timeout=120)
    return shot.read_bytes()
