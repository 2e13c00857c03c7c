"""Built-in plugin: file sinks. ``segrules run --out members.parquet`` (or ``.csv``).

Files are written to a temporary file beside the target and renamed into place, so a failed
run leaves an earlier output intact.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from segrules.errors import SinkError
from segrules.plugin import SinkDef, SinkResult, hookimpl


def _atomic_write(table: pa.Table, target: str, writer) -> SinkResult:
    path = Path(target)
    if path.parent and not path.parent.exists():
        raise SinkError(f"cannot write {target}: directory {path.parent} does not exist", code="SR801")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    try:
        writer(table, tmp)
        os.replace(tmp, path)
    except SinkError:
        raise
    except Exception as exc:
        raise SinkError(f"cannot write {target}: {type(exc).__name__}: {exc}", code="SR802") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return SinkResult(rows=table.num_rows, target=str(path))


def write_parquet(table: pa.Table, target: str, options: dict) -> SinkResult:
    return _atomic_write(table, target, lambda t, p: pq.write_table(t, p, compression="zstd"))


def write_csv(table: pa.Table, target: str, options: dict) -> SinkResult:
    return _atomic_write(table, target, pacsv.write_csv)


@hookimpl
def register_sinks():
    return [
        SinkDef("parquet", write_parquet, suffixes=(".parquet", ".pq"),
                doc="Apache Parquet file (zstd), written atomically."),
        SinkDef("csv", write_csv, suffixes=(".csv",), doc="CSV file with a header row, written atomically."),
    ]
