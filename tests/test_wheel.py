"""The built wheel holds the runtime package and the built-in plugins, and not the test
infrastructure: the vendor emulators live in ``tests/emulators``, outside every shipped package.

Builds the wheel the way a release does (``pip wheel --no-deps``, in build isolation) from a copy
of the sources, so that a ``build/`` left in the checkout cannot add stale files to it."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EMULATORS = sorted(p.stem for p in (ROOT / "tests" / "emulators").glob("*.py") if p.stem != "__init__")


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory) -> list[str]:
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in ("segrules", "plugins"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(src), "-w", str(out)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = out.glob("segrules-*.whl")
    return zipfile.ZipFile(wheel).namelist()


def test_wheel_ships_no_emulators(wheel_files):
    assert len(EMULATORS) >= 7  # braze, hubspot, klaviyo, mailchimp, openapi, server, webhook
    assert not [m for m in EMULATORS if f"segrules/testing/{m}.py" in wheel_files]  # where they were
    assert not [f for f in wheel_files if f.startswith("tests/") or "emulator" in f.lower()]


def test_wheel_ships_the_runtime_and_the_plugins(wheel_files):
    packages = {f.split("/")[0] for f in wheel_files if not f.split("/")[0].endswith(".dist-info")}
    assert packages == {"segrules"} | {p.name for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists()}
    for module in ("segrules/testing/runner.py", "segrules/testing/loader.py", "segrules/plugin/__init__.py",
                   "segrules/params.py", "segrules/statuses.py", "segrules/lang/grammar.lark"):
        assert module in wheel_files
