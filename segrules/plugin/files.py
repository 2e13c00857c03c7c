"""Writing a file atomically, for sinks and reports: the data goes to a temporary file beside the
target, which is renamed over it only when complete, so a failed or killed write leaves the
earlier file intact.

* The target keeps its permission bits when it is replaced (a 0644 report stays 0644); a new
  file gets the ordinary default (0666 less the umask), not the private mode of a temp file.
* The temporary file is removed on every exit Python sees: an exception, Ctrl-C, and SIGTERM or
  SIGHUP while the write runs (turned into an exit for the time of the write).  A SIGKILL cannot
  be seen: the temp file is then named ``.<target name>.<pid>.segrules.tmp``, and the next write
  of the same target removes those whose process is gone.
"""

from __future__ import annotations

import os
import re
import signal
import stat
import threading
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType
from typing import Callable, Iterator, NoReturn

from ..errors import SinkError

_TEMP = re.compile(r"\.(?P<name>.+)\.(?P<pid>\d+)\.segrules\.tmp")
_CAUGHT = (signal.SIGTERM, signal.SIGHUP)


def temp_path(target: Path, pid: int | None = None) -> Path:
    return target.with_name(f".{target.name}.{os.getpid() if pid is None else pid}.segrules.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temps(target: Path) -> list[Path]:
    """Temp files of earlier writes of ``target`` whose process no longer runs (killed)."""
    removed = []
    for entry in target.parent.iterdir() if target.parent.is_dir() else ():
        match = _TEMP.fullmatch(entry.name)
        if match and match["name"] == target.name and int(match["pid"]) != os.getpid() and not _alive(int(match["pid"])):
            with suppress(FileNotFoundError):  # another writer removed it first
                entry.unlink()
                removed.append(entry)
    return removed


@contextmanager
def _signals_exit() -> Iterator[None]:
    """SIGTERM/SIGHUP raise SystemExit while the block runs (so ``finally`` clauses run), then the
    previous handlers are back.  Only the main thread may set handlers; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> NoReturn:
        raise SystemExit(128 + signum)  # unwinds through the finally that removes the temp file
    previous = {s: signal.signal(s, handler) for s in _CAUGHT}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


def atomic_write(target: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(temp_path)`` to produce the file, then rename it over ``target``. SR801 when
    the directory does not exist, SR802 when writing fails (the earlier file is intact)."""
    path = Path(target)
    parent = path.parent
    if not parent.is_dir():
        raise SinkError(f"cannot write {target}: directory {parent} does not exist", code="SR801")
    remove_stale_temps(path)
    tmp = temp_path(path)
    try:
        with _signals_exit():
            try:
                # created with the default mode (0666 less the umask), as any new file would be
                os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666))
                write(str(tmp))
                with suppress(FileNotFoundError):
                    os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))  # an existing file keeps its mode
                os.replace(tmp, path)
            finally:
                with suppress(FileNotFoundError):
                    os.unlink(tmp)
    except SinkError:
        raise
    except Exception as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SinkError(f"cannot write {target}: {type(exc).__name__}: {detail}", code="SR802") from None
    return path
