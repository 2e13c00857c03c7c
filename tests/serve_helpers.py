"""Shared set-up of the serve tests: a small demo shop written once per session, copied per test
(the service writes its tables into the shop's database), a settable clock, and batch runs
(``segrules run --as-of``) to compare the service with."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import sqlglot as sg

import segrules
from segrules.demo import DEMO_NOW, write_demo_data

TOKEN = "test-token-7f3a"
CUSTOMERS = 120


class Clock:
    """now, set by the test (a naive wall-clock time in the spec's time zone)."""

    def __init__(self, now: datetime = DEMO_NOW):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def shop_copy(template: Path, tmp: Path) -> Path:
    path = tmp / "shop.duckdb"
    shutil.copy(template, path)
    return path


def write_shop(folder: Path, customers: int = CUSTOMERS) -> Path:
    path = folder / "shop.duckdb"
    write_demo_data(path, customers=customers, events_per_customer=6, orders_per_customer=2)
    return path


def batch_members(spec, con, now: datetime) -> dict[str, set]:
    """segment -> member keys, as `segrules run --as-of now` computes them."""
    wide = spec.evaluate(con, as_of=now).to_pyarrow()
    return {s: set(wide.filter(wide[s])[spec.key].to_pylist()) for s in spec.segments}


def service_members(service) -> dict[str, set]:
    table = service.store.table("members").to_pyarrow()
    return {s: set(table.filter(table[s])[service.key].to_pylist()) for s in service.evaluator.segments}


def load(name: str):
    return segrules.load(Path(__file__).parent.parent / "segment_specs" / f"{name}.yaml")


WALKTHROUGH_MARK = "<!-- serve walk-through"


def walkthrough():
    """The commands of the walk-through block of docs/realtime.md (the sh block after the mark)."""
    import docs_commands as dc

    text = dc.read_page("docs/realtime.md")
    start = text.index(WALKTHROUGH_MARK)
    block = next(b for b in dc.blocks("docs/realtime.md", text) if b.span[0] > start)
    return block.commands


def stored_member(service, key, raw=None) -> dict | None:
    """The lookup answer as the database gives it: the ``members`` row of ``key`` read through the
    driver connection ``raw`` (default: the service's own; the key a bound parameter), with the
    ``now`` of ``meta`` (how lookups were answered before they came from memory)."""
    store = service.store
    raw = raw if raw is not None else service.con.con
    query = sg.select("*").from_(sg.table(store.name("members"), quoted=True)).where(
        sg.column(service.key, quoted=True).eq(sg.exp.Placeholder())).sql(store.con.name)
    if store.con.name == "postgres":
        with raw.cursor() as cursor:
            cursor.execute(query, [key])
            names, values = [d.name for d in cursor.description], cursor.fetchone()
    else:
        result = raw.execute(query, [key])
        names, values = [d[0] for d in result.description], result.fetchone()
    row = None if values is None else dict(zip(names, values))
    if row is None:
        return None
    return {"key": row[service.key], "as_of": service.store.meta().get("now"),
            "segments": [s for s in service.evaluator.segments if row[s]],
            "features": {f: row[f] for f in service.spec.model.features}}


def assert_view_is_the_table(service, keys=()) -> None:
    """The membership the service answers lookups and counts from (memory) equals the ``members``
    table: every row and every segment's count; for ``keys`` the whole lookup answer equals the
    stored row as the database driver returns it."""
    table = service.store.table("members").to_pyarrow()
    columns = service.view.columns
    assert service.view.rows() == {row[0]: row for row in zip(*(table[c].to_pylist() for c in columns))}
    for s in service.evaluator.segments:
        assert service.count(s) == sum(1 for v in table[s].to_pylist() if v), s
    assert service.as_of == service.store.meta().get("now")
    for k in keys:
        assert service.member(k) == stored_member(service, k), k
