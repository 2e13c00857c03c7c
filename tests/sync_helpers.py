"""Shared set-up for the sync tests: a people table in DuckDB and a spec syncing one segment."""

from __future__ import annotations

import textwrap
from contextlib import contextmanager

import ibis
import pyarrow as pa

import segrules
from segrules.state import open_state
from segrules.sync import SyncRun, plan_syncs

SPEC = """\
version: 1
name: people
entity: {{table: people, key: id}}
features:
  double_score: score * 2
segments:
  active:
    where: score >= 50
destinations:
{destinations}
syncs:
{syncs}
"""


def spec_text(destinations: str, syncs: str) -> str:
    return SPEC.format(destinations=textwrap.indent(textwrap.dedent(destinations).strip(), "  "),
                       syncs=textwrap.indent(textwrap.dedent(syncs).strip(), "  "))


def write_people(con, people: dict[int, tuple[str | None, str, int]]) -> None:
    """``people``: id -> (email, first_name, score); replaces the table."""
    ids = sorted(people)
    con.create_table("people", pa.table({
        "id": pa.array(ids, pa.int64()),
        "email": [people[i][0] for i in ids],
        "first_name": [people[i][1] for i in ids],
        "score": pa.array([people[i][2] for i in ids], pa.int64()),
    }), overwrite=True)


def run_sync(text: str, con, state_path, *, names=None, env=None, dry_run=False, full_resync=False, path="spec.yaml"):
    """Plan and (unless ``dry_run``) deliver; returns the outcomes."""
    spec = segrules.load_text(text, path)
    columns = list(spec.check(con).schemas["people"].names)
    planned = plan_syncs(spec.document, columns, spec.registry.destinations, names, env=env or {})
    run = SyncRun(spec, con, open_state(state_path), planned, as_of="2026-11-01", full_resync=full_resync)
    outcomes = run.plan()
    if dry_run or any(o.status == "refused" for o in outcomes):
        return outcomes
    return run.deliver(outcomes)


def members(people, threshold=50):
    return {str(i): p for i, p in people.items() if p[2] >= threshold}


def memory_con():
    return ibis.duckdb.connect()


@contextmanager
def people_db(people):
    """An in-memory DuckDB holding ``people``."""
    con = memory_con()
    write_people(con, people)
    yield con
    con.disconnect()


def hundred_k_members() -> dict[int, tuple[str, str, int]]:
    """200k people, every other one a member of ``active``: the 100k-member audience of the
    "only the changes are sent" tests."""
    return {i: (f"p{i}@x.com", "N", 60 if i % 2 else 40) for i in range(1, 200_001)}


def flip_one_percent(people: dict, seed: int = 5) -> list[int]:
    """1% of ``people`` (1,000 of 100k members' universe) change membership, in place; their ids."""
    import random
    flipped = random.Random(seed).sample(sorted(people), len(people) // 200)
    for i in flipped:
        email, name, score = people[i]
        people[i] = (email, name, 100 - score)
    return flipped
