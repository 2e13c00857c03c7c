"""A file-backed stream source for the tests of ``register_stream_sources`` (not shipped): a folder
with one JSON-lines file per partition (``<partition>.jsonl``, one record per line:
``{"source": ..., "row": {...}, "op": "append"}``); a record's offset is its line number. It keeps
its own committed position per partition (``<partition>.committed``), as a broker does.

Options: ``path`` (the folder); ``max``: at most this many records a poll (a slow stream);
``seek: "no"`` makes it ignore ``StreamContext.resume`` and start
at its own committed position (a consumer that cannot seek: it re-delivers what the service
stored but it was not told)."""

from __future__ import annotations

import json
from pathlib import Path

from segrules.plugin import StreamContext, StreamRecord, StreamSourceDef, hookimpl


def append(folder: Path, partition: str, records: list[dict]) -> None:
    """Producer side: add records to a partition."""
    with open(folder / f"{partition}.jsonl", "a", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


class FileLogConsumer:
    def __init__(self, context: StreamContext):
        self.folder = Path(context.options["path"])
        self.context = context
        self.commits: list[dict[str, int]] = []
        self.closed = False
        self.position: dict[str, int] = {}  # partition -> the next offset to read
        for file in sorted(self.folder.glob("*.jsonl")):
            p = file.stem
            own = self.folder / f"{p}.committed"
            committed = int(own.read_text()) if own.exists() else -1
            start = committed if context.options.get("seek") == "no" else context.resume.get(p, -1)
            self.position[p] = start + 1

    def poll(self, max_records: int, timeout: float) -> list[StreamRecord]:
        max_records = min(max_records, int(self.context.options.get("max", max_records)))
        out: list[StreamRecord] = []
        for p in sorted(self.position):
            lines = (self.folder / f"{p}.jsonl").read_text(encoding="utf-8").splitlines()
            while self.position[p] < len(lines) and len(out) < max_records:
                record = json.loads(lines[self.position[p]])
                out.append(StreamRecord(p, self.position[p], record["source"], record["row"],
                                        record.get("op", "append")))
                self.position[p] += 1
        return out

    def commit(self, offsets: dict[str, int]) -> None:
        self.commits.append(dict(offsets))
        for p, offset in offsets.items():  # atomically: a reader never sees a half-written file
            tmp = self.folder / f"{p}.committed.tmp"
            tmp.write_text(str(offset))
            tmp.replace(self.folder / f"{p}.committed")

    def close(self) -> None:
        self.closed = True


OPENED: list[FileLogConsumer] = []


def open_consumer(context: StreamContext) -> FileLogConsumer:
    consumer = FileLogConsumer(context)
    OPENED.append(consumer)
    return consumer


@hookimpl
def register_stream_sources():
    return [StreamSourceDef("filelog", open_consumer, doc="JSON-lines files, one per partition (tests only).")]


def main() -> None:
    """``python tests/stream_plugin.py serve ...``: the segrules command line with this plugin
    registered (a process test's way to load a plugin that is not installed)."""
    import sys

    import segrules.api as api
    from segrules.cli import main as cli

    plugin, original = sys.modules[__name__], api.default_registry
    api.default_registry = lambda plugins=(), load_entrypoints=True: original(
        plugins=[plugin, *plugins], load_entrypoints=load_entrypoints)
    cli()


if __name__ == "__main__":
    main()
