"""Built-in plugin: file sinks. ``segrules run --out members.parquet`` (or ``.csv``), and the
``csv`` / ``parquet`` sync destinations: a full snapshot of the audience (``path``) replaced each
run, plus, with ``changes_dir``, one file of that run's changes (op, key, identifier, fields).

Files are written to a temporary file beside the target and renamed into place, so a failed
run leaves an earlier output intact; a replaced file keeps its mode (``segrules.plugin.atomic_write``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from segrules.plugin import DestinationDef, Limits, SinkDef, SinkResult, SyncContext, atomic_write, hookimpl

if TYPE_CHECKING:  # Arrow is imported when a file is written, not when the plugin loads
    import pyarrow as pa


def _write(table: pa.Table, target: str, writer) -> SinkResult:
    path = atomic_write(target, lambda tmp: writer(table, tmp))
    return SinkResult(rows=table.num_rows, target=str(path))


def write_parquet(table: pa.Table, target: str, options: dict) -> SinkResult:
    import pyarrow.parquet as pq  # imported when a file is written: not on every start-up

    return _write(table, target, lambda t, p: pq.write_table(t, p, compression="zstd"))


def write_csv(table: pa.Table, target: str, options: dict) -> SinkResult:
    import pyarrow.csv as pacsv

    return _write(table, target, pacsv.write_csv)


@hookimpl
def register_sinks():
    return [
        SinkDef("parquet", write_parquet, suffixes=(".parquet", ".pq"),
                doc="Apache Parquet file (zstd), written atomically."),
        SinkDef("csv", write_csv, suffixes=(".csv",), doc="CSV file with a header row, written atomically."),
    ]


class FileOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="The snapshot file: the whole audience, replaced each run.")
    changes_dir: str | None = Field(None, description="Folder that gets one file of changes per run.")


class FileDestination:
    """Snapshot + changes files of one format."""

    limits = Limits(max_rows=1_000_000)

    def __init__(self, options: FileOptions, context: SyncContext, suffix: str, write):
        self.options, self.context, self.suffix, self.write = options, context, suffix, write

    def write_snapshot(self, audience: pa.Table, changes: pa.Table) -> None:
        if self.options.changes_dir and changes.num_rows:
            folder = Path(self.options.changes_dir)
            folder.mkdir(parents=True, exist_ok=True)
            stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
            self.write(changes, str(folder / f"{self.context.sync}-{stamp}{self.suffix}"), {})
        self.write(audience, self.options.path, {})

    def close(self) -> None:
        pass


def _file_destination(name: str, suffix: str, write) -> DestinationDef:
    return DestinationDef(
        name, FileOptions, lambda options, context: FileDestination(options, context, suffix, write),
        modes=("mirror",), snapshot=True,
        replay="the snapshot file is replaced as a whole (rename into place), so it ends exactly at the "
        "audience; a replay may write the same changes into a second changes file",
        doc=f"A {name} snapshot of the audience, and a {name} file of changes per run.")


@hookimpl
def register_destinations():
    return [_file_destination("csv", ".csv", write_csv), _file_destination("parquet", ".parquet", write_parquet)]
