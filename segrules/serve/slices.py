"""The source tables' rows by key, in memory: an evaluation reads only the touched keys' rows.

On DuckDB, the filter ``key IN (touched)`` of the local and due plans still scans every row of
a source table (a semi-join; a DuckDB index serves lists of constants only, and fetches row by
row): at 20M events that scan is most of an evaluation. So the service keeps, per source table,
the columns the plans read, sorted by key (:class:`KeyedRows`), and gives the plans a *slice* —
the rows of the touched keys, found by binary search — as an Arrow table registered under a
name of its own (``serve_<spec>_slice_<table>``), which the plans were compiled against.

Invariant: the slice of a table for keys K at batch B holds exactly the rows of the table whose
key is in K as an evaluation whose snapshot sees the ingest batches 1..B reads them. The rows
are loaded in one snapshot together with the last batch it saw (:meth:`Slices.load`); each
ingest appends its committed rows under its batch number (:meth:`Slices.append`, after the
commit, in batch order); an evaluation takes the rows of the batches up to its snapshot's last
batch (waiting, briefly, for an ingest between its commit and its append). Rows with a null key
are left out (``IN`` never matches them) but counted: every evaluation compares each table's
row count in its snapshot with the rows held (:meth:`Slices.check`), so rows written to a table
some other way, or an append that never came, make the service read the table again instead of
evaluating on rows that differ from the database's.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import sqlglot as sg

RUN_ROWS = 65_536  # appended rows are sorted into a run of their own once there are this many
APPEND_WAIT_SECONDS = 2.0  # an ingest appends right after its commit; longer means it never will


def key_kind(dtype: pa.DataType) -> str | None:
    """How keys of ``dtype`` are compared in memory ("int" or "str"); None: not held in memory
    (the plans read such a table through the database)."""
    if pa.types.is_integer(dtype) and dtype != pa.uint64():
        return "int"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "str"
    return None


def key_array(values: pa.Array | pa.ChunkedArray, kind: str) -> np.ndarray:
    """Keys as a numpy array that sorts and compares as the database compares them."""
    if kind == "int":
        return np.asarray(values.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return np.array(values.to_pylist(), dtype=object)


@dataclass
class Run:
    """Rows sorted by key: the rows of ``uniq[i]`` are ``table[starts[i]:ends[i]]``."""

    table: pa.Table
    uniq: np.ndarray
    starts: np.ndarray
    ends: np.ndarray

    @classmethod
    def sorted_from(cls, table: pa.Table, key: str, kind: str) -> Run:
        """``table`` (no null keys) sorted by ``key``, its other strings dictionary-encoded."""
        table = table.take(pc.sort_indices(table, [(key, "ascending")])).combine_chunks()
        table = _compact_strings(table, key)
        keys = key_array(table[key], kind)
        if len(keys) == 0:
            none = np.zeros(0, dtype=np.int64)
            return cls(table, keys, none, none)
        starts = np.concatenate([[0], np.flatnonzero(keys[1:] != keys[:-1]) + 1]).astype(np.int64)
        ends = np.append(starts[1:], len(keys))
        return cls(table, keys[starts], starts, ends)

    def positions(self, keys: np.ndarray) -> np.ndarray:
        """The row positions of ``keys`` (sorted, distinct), in key order."""
        if len(self.uniq) == 0 or len(keys) == 0:
            return np.zeros(0, dtype=np.int64)
        at = np.searchsorted(self.uniq, keys)
        inside = at < len(self.uniq)
        at = at[inside]
        found = at[self.uniq[at] == keys[inside]]
        lengths = self.ends[found] - self.starts[found]
        first = np.repeat(self.starts[found] - np.cumsum(lengths) + lengths, lengths)
        return first + np.arange(int(lengths.sum()), dtype=np.int64)

    def __len__(self) -> int:
        return self.table.num_rows


class KeyedRows:
    """One table's rows (the columns the plans read) by key: sorted runs, and the appends not
    sorted yet. Not thread-safe by itself (:class:`Slices` holds the lock)."""

    def __init__(self, table: str, key: str, kind: str, schema: pa.Schema, run_rows: int = RUN_ROWS):
        self.table, self.key, self.kind, self.schema = table, key, kind, schema
        self.run_rows = run_rows
        self.runs: list[Run] = []
        self.appended: list[tuple[int, pa.Table]] = []  # (batch, rows without null keys), batch order
        self.null_keys: dict[int, int] = {}  # batch (0: the load) -> rows with a null key

    def load(self, rows: pa.Table, batch: int) -> None:
        """The whole table as of ``batch``; appends of later batches are kept."""
        held = rows.filter(pc.is_valid(rows[self.key]))
        self.runs = [Run.sorted_from(held, self.key, self.kind)]
        self.appended = [a for a in self.appended if a[0] > batch]
        self.null_keys = {b: n for b, n in self.null_keys.items() if b > batch}
        self.null_keys[0] = rows.num_rows - held.num_rows

    def append(self, rows: pa.Table, batch: int) -> None:
        rows = rows.select(self.schema.names).cast(self.schema)
        held = rows.filter(pc.is_valid(rows[self.key]))
        self.appended.append((batch, held))
        if held.num_rows < rows.num_rows:
            self.null_keys[batch] = rows.num_rows - held.num_rows

    def rows(self, batch: int) -> int:
        """The table's row count (null keys included) as of ``batch``."""
        return sum(len(r) for r in self.runs) + sum(t.num_rows for b, t in self.appended if b <= batch) + \
            sum(n for b, n in self.null_keys.items() if b <= batch)

    def slice(self, keys: np.ndarray, batch: int) -> pa.Table:
        """The rows of ``keys`` (sorted, distinct; :func:`key_array`) as of ``batch`` (which
        never goes down from one call to the next: the appends up to it may be sorted into a run)."""
        self._sort_appended(batch)
        parts = [run.table.take(pa.array(run.positions(keys))) for run in self.runs]
        recent = [t for b, t in self.appended if b <= batch and t.num_rows]
        if recent:
            rows = pa.concat_tables(recent)
            value_set = pa.array(keys.tolist(), rows.schema.field(self.key).type)
            parts.append(rows.filter(pc.is_in(rows[self.key], value_set=value_set)))
        parts = [p.cast(self.schema) for p in parts if p.num_rows]
        return pa.concat_tables(parts) if parts else self.schema.empty_table()

    def _sort_appended(self, batch: int) -> None:
        """Sort the appends up to ``batch`` into a run once they are many; merge runs while the
        newest is at least half the size of the one before (a few runs; each row is sorted again
        a logarithmic number of times)."""
        ready = [t for b, t in self.appended if b <= batch]
        if sum(t.num_rows for t in ready) < self.run_rows:
            return
        self.runs.append(Run.sorted_from(pa.concat_tables(ready), self.key, self.kind))
        self.appended = [a for a in self.appended if a[0] > batch]
        while len(self.runs) > 1 and 2 * len(self.runs[-1]) >= len(self.runs[-2]):
            newer, older = self.runs.pop(), self.runs.pop()
            merged = pa.concat_tables([older.table.cast(self.schema), newer.table.cast(self.schema)])
            self.runs.append(Run.sorted_from(merged, self.key, self.kind))


class Slices:
    """The in-memory rows of a spec's source tables and the ingest batch they are current to."""

    def __init__(self, tables: dict[str, KeyedRows], names: dict[str, str]):
        self.tables = tables  # table -> its rows
        self.names = names  # table -> the name its slices are registered under
        self.batch = 0  # the last ingest batch whose rows are held
        self.loaded = False
        self._lock = threading.Condition(threading.RLock())

    def load(self, raw: Any, dialect: str, batch: int) -> None:
        """Read every table through ``raw`` (the DuckDB connection, inside the transaction
        whose snapshot saw the batches up to ``batch``)."""
        for rows in self.tables.values():
            query = sg.select(*[sg.column(c, quoted=True) for c in rows.schema.names]).from_(
                sg.table(rows.table, quoted=True))
            data = raw.execute(query.sql(dialect)).to_arrow_table()
            with self._lock:
                rows.load(data.cast(rows.schema), batch)
        with self._lock:
            self.batch = max(self.batch, batch)
            self.loaded = True
            self._lock.notify_all()

    def clear(self) -> None:
        """Forget every row and batch (the ingest log starts again)."""
        with self._lock:
            for rows in self.tables.values():
                rows.runs, rows.appended, rows.null_keys = [], [], {}
            self.batch, self.loaded = 0, False

    def append(self, table: str, rows: pa.Table, batch: int) -> None:
        """Ingest batch ``batch`` committed ``rows`` to ``table`` (called in batch order, for every
        batch: a batch that wrote no held table still moves the batch on)."""
        with self._lock:
            if batch <= self.batch:  # read by a load that already saw this batch
                return
            try:
                if table in self.tables:
                    self.tables[table].append(rows, batch)
            except (pa.ArrowException, KeyError):  # cannot be held as the table holds it: read it again
                self.loaded = False
                raise
            finally:
                self.batch = batch
                self._lock.notify_all()

    def current(self, counts: dict[str, int], batch: int, timeout: float = APPEND_WAIT_SECONDS) -> bool:
        """Whether the rows held are the tables' as a transaction that sees the batches up to
        ``batch`` and the row ``counts`` reads them: once the appends up to ``batch`` came (or
        ``timeout`` passed: a batch whose append never comes), the rows held must be as many."""
        with self._lock:
            if not self.loaded:
                return False
            self._lock.wait_for(lambda: self.batch >= batch, timeout)
            if not self.check(counts, batch):
                return False
            self.batch = max(self.batch, batch)  # a batch without an append wrote no held table
            return True

    def check(self, counts: dict[str, int], batch: int) -> bool:
        """Whether the rows held as of ``batch`` are as many as the tables have (``counts``)."""
        with self._lock:
            return all(self.tables[t].rows(batch) == n for t, n in counts.items())

    def register(self, raw: Any, keys: pa.Array | pa.ChunkedArray, batch: int) -> None:
        """Register, on the DuckDB connection ``raw``, each table's rows of ``keys`` as of ``batch``
        under its slice name."""
        by_kind: dict[str, np.ndarray] = {}
        with self._lock:
            for table, rows in self.tables.items():
                if rows.kind not in by_kind:
                    by_kind[rows.kind] = np.unique(key_array(keys, rows.kind))
                raw.register(self.names[table], rows.slice(by_kind[rows.kind], batch))


def _compact_strings(table: pa.Table, key: str) -> pa.Table:
    """String columns but the key dictionary-encoded where that is smaller (20M event names take a
    quarter of the memory); :meth:`KeyedRows.slice` casts them back."""
    for i, field in enumerate(table.schema):
        if field.name != key and (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            encoded = pc.dictionary_encode(table[field.name])
            if encoded.nbytes < table[field.name].nbytes:
                table = table.set_column(i, field.name, encoded)
    return table


def plan_columns(checked: Any, model: Any, table: str, columns: list[str]) -> list[str]:
    """The columns of ``table`` the rules read through its sources, with the sources' keys and
    times, in table order. (A plan that reads another one fails to build over them: the caller
    then holds every column.)"""
    from ..check.typecheck import SourceColumn

    sources = {name for name, s in model.sources.items() if s.table == table}
    wanted = {c for s in sources for c in (model.sources[s].key, model.sources[s].time) if c is not None}
    wanted |= {b.name for b in checked.bindings.values() if isinstance(b, SourceColumn) and b.source in sources}
    return [c for c in columns if c in wanted]
