"""Execute a compiled plan: member counts, materialised membership (wide or long)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import ibis
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import BackendError


@dataclass(frozen=True)
class SegmentCount:
    segment: str
    members: int
    universe: int

    @property
    def share(self) -> float:
        return self.members / self.universe if self.universe else 0.0


# How the backends word an integer or decimal result that does not fit its type (DuckDB's
# OutOfRangeException "Overflow in multiplication of INT64", PostgreSQL's "bigint out of range",
# "numeric field overflow"); the rule is valid, the data makes it overflow.
_OVERFLOW = re.compile(r"overflow|out of range", re.I)
OVERFLOW_HINT = ("an arithmetic result did not fit its type on this data (integers are int64: at most "
                 "9223372036854775807); use smaller constants, or make the arithmetic a double "
                 "(e.g. `x * 1.0`)")


def run_query(fn, what: str):
    try:
        return fn()
    except Exception as exc:  # backend errors come in many types; report them as ours
        hint = OVERFLOW_HINT if _OVERFLOW.search(f"{type(exc).__name__} {exc}") else None
        raise BackendError(f"{what} failed: {type(exc).__name__}: {exc}", code="SR703", hint=hint) from None


def counts(wide, segments: list[str]) -> list[SegmentCount]:
    """Members per segment and the universe size, in one query over the wide plan."""
    metrics = {"__universe": wide.count()}
    # CASE WHEN, not CAST(boolean AS BIGINT): PostgreSQL has no such cast
    metrics.update({f"__s{i}": ibis.ifelse(wide[s], 1, 0).sum() for i, s in enumerate(segments)})
    row = run_query(lambda: wide.aggregate(**metrics).to_pyarrow().to_pylist()[0], "counting members")
    universe = int(row["__universe"] or 0)
    return [SegmentCount(s, int(row[f"__s{i}"] or 0), universe) for i, s in enumerate(segments)]


def materialize(wide) -> pa.Table:
    """The wide table (key, a boolean per segment, features) as Arrow."""
    return run_query(wide.to_pyarrow, "evaluating the spec")


def counts_from_arrow(table: pa.Table, segments: list[str]) -> list[SegmentCount]:
    universe = table.num_rows
    return [SegmentCount(s, int(pc.sum(table[s].cast(pa.int64())).as_py() or 0), universe) for s in segments]


def to_long(table: pa.Table, key: str, segments: list[str]) -> pa.Table:
    """One row per (segment, key) member, segments in spec order, keys in table order."""
    parts = []
    for s in segments:
        keys = table[key].filter(table[s])
        parts.append(pa.table({"segment": pa.array([s] * len(keys), pa.string()), key: keys}))
    if not parts:
        return pa.table({"segment": pa.array([], pa.string()), key: pa.array([], table.schema.field(key).type)})
    return pa.concat_tables(parts)
