"""The implementations of segment_specs/bench_50.yaml that the benchmarks compare.

Each variant is a function ``(db_path, now, threads) -> run``; ``run()`` computes the member count
of every segment and returns ``(counts, phases)``: ``{segment: members}`` and the seconds spent in
named phases of that run (empty where there is only one).  Setup outside ``run`` (importing the
libraries a variant uses, connecting, reading a SQL file) is not timed: pandas for the pandas
variant, duckdb for the SQL ones (and what DuckDB's Python client imports on the first bound
parameter: pandas again, see ``harness.duckdb_connection``), and for segrules also the module
Ibis imports on its first ``to_pyarrow`` (which imports pandas, 0.2 s).  Loading the spec, the
plugins and the parser is timed.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from pathlib import Path
from typing import Callable

BENCH = Path(__file__).resolve().parent
SPEC = BENCH.parent / "segment_specs" / "bench_50.yaml"

Counts = dict[str, int]
Run = Callable[[], tuple[Counts, dict[str, float]]]


def segrules_counts(db: str, now: datetime, threads: int) -> Run:
    """segrules: load the spec, compile it against the database, count the members in DuckDB."""
    return _segrules(db, now, threads, materialise=False)


def segrules_full(db: str, now: datetime, threads: int) -> Run:
    """segrules: the whole wide table (key, a boolean per segment, features) to Arrow."""
    return _segrules(db, now, threads, materialise=True)


def _segrules(db: str, now: datetime, threads: int, materialise: bool) -> Run:
    import ibis
    import ibis.backends.duckdb.converter  # noqa: F401  imported by Ibis on the first to_pyarrow
    import pyarrow.compute as pc
    import harness
    segrules = harness.import_segrules()

    con = ibis.duckdb.connect(db, read_only=True, threads=threads)

    def run():
        started = time.perf_counter()
        spec = segrules.load(SPEC)
        t = spec.evaluate(con, as_of=now)
        compiled = time.perf_counter()
        if materialise:
            table = t.to_pyarrow()
            counts = {s: pc.sum(table[s]).as_py() or 0 for s in spec.segments}
        else:
            row = t.aggregate(**{s: t[s].sum() for s in spec.segments}).to_pyarrow().to_pylist()[0]
            counts = {s: row[s] or 0 for s in spec.segments}
        return counts, {"load+compile": compiled - started,
                        "execute": time.perf_counter() - compiled}
    return run


def fused_sql(db: str, now: datetime, threads: int) -> Run:
    """bench/handwritten_fused.sql: one query, one FILTER-aggregate GROUP BY per source."""
    con = _duckdb(db, threads)
    sql = (BENCH / "handwritten_fused.sql").read_text()

    def run():
        cursor = con.execute(sql, {"now": now})
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchone())), {}
    return run


def naive_sql(db: str, now: datetime, threads: int) -> Run:
    """bench/handwritten_naive.sql: one query per segment, run one after the other."""
    con = _duckdb(db, threads)
    statements = naive_statements()

    def run():
        counts = {}
        for name, sql in statements.items():
            params = {"now": now} if "$now" in sql else None
            counts[name] = con.execute(sql, params).fetchone()[0]
        return counts, {}
    return run


def naive_statements() -> dict[str, str]:
    """Segment name -> its statement, split on the ``-- segment: NAME`` markers."""
    parts = re.split(r"^-- segment: (\w+)\n", (BENCH / "handwritten_naive.sql").read_text(), flags=re.M)
    return {name: sql.strip().rstrip(";") for name, sql in zip(parts[1::2], parts[2::2])}


def pandas(db: str, now: datetime, threads: int) -> Run:
    """bench/pandas_impl.py: load the tables into pandas, groupby per aggregate."""
    import pandas_impl

    con = _duckdb(db, threads)

    def run():
        started = time.perf_counter()
        customers, orders, events = pandas_impl.load(con)
        loaded = time.perf_counter()
        counts = pandas_impl.member_counts(customers, orders, events, now)
        return counts, {"load": loaded - started, "compute": time.perf_counter() - loaded}
    return run


def _duckdb(db: str, threads: int):
    import harness

    return harness.duckdb_connection(db, threads)


VARIANTS: dict[str, Callable[[str, datetime, int], Run]] = {
    "segrules": segrules_counts,
    "segrules_full": segrules_full,
    "fused_sql": fused_sql,
    "naive_sql": naive_sql,
    "pandas": pandas,
}
