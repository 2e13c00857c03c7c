"""The running half of the behavioural differential tests: loading a shop, evaluating a spec,
and comparing with the reference row by row (the backends come from the ``backend`` fixture
of tests/conftest.py).
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from typing import Any, Callable, Mapping

import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings

import segrules
from segrules.errors import SegrulesError

from reference import as_timestamp
from strategies_behaviour import NOW, SOURCES, TABLES

# examples per property; CI has 2 cores.  SEGRULES_DIFF_SCALE=10 digs deeper locally.
EXAMPLES = {"duckdb": 60, "postgres": 20}
SCALE = float(os.environ.get("SEGRULES_DIFF_SCALE", "1"))
ARROW = {
    "customers": pa.schema([("id", pa.int64()), ("signup_at", pa.timestamp("us")),
                            ("ltv", pa.float64()), ("code", pa.string()), ("birth", pa.date32())]),
    "events": pa.schema([("cid", pa.int64()), ("ts", pa.timestamp("us")), ("name", pa.string())]),
    "orders": pa.schema([("cid", pa.int64()), ("ordered_at", pa.timestamp("us")),
                         ("status", pa.string()), ("amount", pa.float64())]),
}
EMPTY = {name: [] for name in ARROW}


# --- running segrules ---------------------------------------------------------------------
def load_tables(con, data: Mapping[str, list[dict]]) -> None:
    for name, schema in ARROW.items():
        con.create_table(TABLES[name], pa.Table.from_pylist(data[name], schema=schema), overwrite=True)


def drop_tables(con) -> None:
    for name in TABLES.values():
        con.drop_table(name, force=True)


def run(con, spec_dict: dict, params: dict | None = None) -> dict[Any, dict]:
    text = _yaml(spec_dict)
    try:
        table = segrules.load_text(text).evaluate(con, as_of=NOW, params=params)
        rows = table.to_pyarrow().to_pylist()
    except SegrulesError as exc:
        pytest.fail(f"segrules rejected the spec:\n{text}\n{exc.render({'<string>': text})}")
    return {r["id"]: r for r in rows}


def _yaml(spec_dict: dict) -> str:
    return yaml.safe_dump(spec_dict, sort_keys=False, allow_unicode=True)


def normalise(v: Any) -> Any:
    """Backend values as Python values: an interval (Arrow month-day-nano) is a timedelta."""
    if isinstance(v, pa.MonthDayNano):
        return timedelta(days=30 * v.months + v.days, microseconds=v.nanoseconds // 1000)
    return v


def same(ref: Any, got: Any) -> bool:
    got = normalise(got)
    if ref is None or got is None:
        return ref is None and got is None
    if isinstance(ref, bool) or isinstance(got, bool):
        return ref is got
    if isinstance(ref, date) and isinstance(got, date):  # a date equals its midnight
        return as_timestamp(ref) == as_timestamp(got)
    if isinstance(ref, float) or isinstance(got, float):
        return abs(ref - got) <= 1e-9 * max(1.0, abs(ref))
    return ref == got


def check(con, spec_dict: dict, data: Mapping[str, list[dict]],
          expected: Mapping[Any, Mapping[str, Any]], params: dict | None = None) -> None:
    """Load ``data``, evaluate, and compare every expected column of every entity."""
    load_tables(con, data)
    got = run(con, spec_dict, params)
    exprs = {**spec_dict["features"], **{k: v["where"] for k, v in spec_dict["segments"].items()}}
    assert set(got) == set(expected), (
        f"entities differ: only segrules {sorted(set(got) - set(expected))}, "
        f"only reference {sorted(set(expected) - set(got))}")
    problems = []
    for key, columns in expected.items():
        for name, ref in columns.items():
            value = got[key].get(name, "<missing column>")
            if not same(ref, value):
                problems.append(_report(key, name, exprs[name], ref, value, data))
    if problems:
        pytest.fail(f"{len(problems)} mismatch(es) at now={NOW}, params={params}, spec:\n"
                    + _yaml(spec_dict)
                    + "\n\n".join(problems[:5]))


def _report(key, name, text, ref, got, data) -> str:
    lines = [f"entity {key}: {name} = {text}", f"  reference: {ref!r}   segrules: {got!r}",
             *[f"  customer: {r}" for r in data["customers"] if r["id"] == key]]
    for table, src in (("events", SOURCES["events"]), ("orders", SOURCES["orders"])):
        lines += [f"  {table}: {r}" for r in sorted(
            (r for r in data[table] if r[src.key] == key),
            key=lambda r: (r[src.time] is None, r[src.time] or NOW))]
    return "\n".join(lines)


def run_property(backend_name: str, body: Callable[..., None], **strategies) -> None:
    """Run ``body`` under hypothesis with the backend's example budget."""
    budget = settings(max_examples=max(1, int(EXAMPLES[backend_name] * SCALE)), deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    budget(given(**strategies)(body))()
