"""Writing report files for plugin commands (``segrules rfm --out``, ``segrules cohort --out``).

A report is written to a temporary file beside its target and renamed into place, so a failed run
leaves an earlier report intact; the file gets ordinary permissions (the umask's)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable

from .errors import SinkError


def write_atomic(target: Path, write: Callable[[str], None]) -> None:
    """``write(tmp)`` writes the report to the path ``tmp``; it then replaces ``target``. Errors
    (a missing directory, a full disk) are :class:`SinkError` SR801."""
    target = Path(target)
    if not target.parent.is_dir():
        raise SinkError(f"cannot write {target}: directory {target.parent} does not exist", code="SR801")
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is an ordinary file
        os.replace(tmp, target)
    except OSError as exc:
        raise SinkError(f"cannot write {target}: {exc.strerror or exc}", code="SR801") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
