"""``--out`` files (``segrules.plugin.atomic_write``): a replaced file keeps its mode, a new one gets
the umask default, and temporary files do not outlive the write — removed on every exit Python
sees (an error, SIGTERM), and after a SIGKILL by the next write of the same target."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from click.testing import CliRunner

from segrules.cli import main
from segrules.errors import SinkError
from segrules.plugin import atomic_write
from segrules.plugin.files import temp_path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "segment_specs" / "ecommerce.yaml"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    from segrules.demo import write_demo_data
    path = tmp_path_factory.mktemp("shop") / "shop.duckdb"
    write_demo_data(path, customers=100, seed=2)
    return path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("before", [0o644, 0o600, 0o640])
def test_sink_out_rewrite_keeps_the_file_mode(shop, tmp_path, before):
    target = tmp_path / "members.csv"
    target.write_text("old\n")
    target.chmod(before)
    result = CliRunner().invoke(main, ["run", str(SPEC), "--db", str(shop), "--out", str(target)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert mode(target) == before and target.read_text() != "old\n"
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_sink_new_file_gets_the_umask_default_mode(tmp_path, umask):
    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "new.csv", lambda tmp: pacsv.write_csv(pa.table({"a": [1]}), tmp))
    finally:
        os.umask(old)
    assert mode(tmp_path / "new.csv") == 0o666 & ~umask


def test_sink_failed_write_removes_its_temp_and_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("earlier\n")

    def broken(tmp):
        Path(tmp).write_text("half")
        raise ValueError("disk on fire")
    with pytest.raises(SinkError) as exc:
        atomic_write(target, broken)
    assert exc.value.diagnostics[0].code == "SR802" and "disk on fire" in exc.value.diagnostics[0].message
    assert target.read_text() == "earlier\n" and leftovers(tmp_path) == []


# A child that writes --out and is signalled while the sink writes its temp file.
SIGNALLED = """
import os, signal, sys, time
import pyarrow.csv as pacsv
from segrules.cli import main

def write_csv(table, where):
    with open(where, "w") as f:
        f.write("partial")
    os.kill(os.getpid(), getattr(signal, sys.argv[1]))
    time.sleep(30)  # SIGKILL/SIGTERM arrive before this ends

pacsv.write_csv = write_csv
main(sys.argv[2:])
"""


def _signalled(sig: str, shop: Path, target: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", SIGNALLED, sig, "run", str(SPEC), "--db", str(shop), "--out",
                           str(target)], capture_output=True, text=True, timeout=300)


def test_sink_sigterm_during_out_removes_the_temp_file(shop, tmp_path):
    target = tmp_path / "members.csv"
    target.write_text("earlier\n")
    proc = _signalled("SIGTERM", shop, target)
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr
    assert target.read_text() == "earlier\n" and leftovers(tmp_path) == []


def test_sink_sigkill_temp_file_is_removed_by_the_next_write(shop, tmp_path):
    target = tmp_path / "members.csv"
    target.write_text("earlier\n")
    proc = _signalled("SIGKILL", shop, target)
    assert proc.returncode == -signal.SIGKILL
    (left,) = leftovers(tmp_path)  # SIGKILL cannot be caught
    dead = int(left.split(".")[-3])
    assert left == temp_path(target, dead).name
    assert target.read_text() == "earlier\n"
    # a temp of a process that still runs, and one of another target, are not touched
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as alive:
        temp_path(target, alive.pid).write_text("in progress")
        temp_path(tmp_path / "other.csv", dead).write_text("other")
        result = CliRunner().invoke(main, ["run", str(SPEC), "--db", str(shop), "--out", str(target)],
                                    catch_exceptions=False)
        alive.kill()
    assert result.exit_code == 0, result.output
    assert leftovers(tmp_path) == sorted([temp_path(target, alive.pid).name,
                                          temp_path(tmp_path / "other.csv", dead).name])
    assert target.read_text().startswith('"segment",')
