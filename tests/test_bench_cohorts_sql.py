"""The hand-written baselines of bench/run_cohorts.py against segrules, and the script itself.

Every statement of bench/handwritten_cohorts.sql runs on DuckDB over small random data (a few
customers, tens of events, times on a half-day grid so that week boundaries, the 14-day
conversion bound, ties between steps, the 12th period and rows after ``now`` come up often, plus
a microsecond either side) and must give the retention matrix and the funnel numbers, cell by
cell, that the plugin's report functions give (the plugin is checked against independent pandas
and plain-Python references in tests/test_cohorts*.py and tests/test_funnel*.py). A benchmark's
baseline must compute the same thing before its timing means anything. Then the commands of
bench/README.md and docs/performance.md that run bench/run_cohorts.py run at a small scale.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segrules

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
sys.path.insert(0, str(BENCH))
import cohorts_data  # noqa: E402
import run_cohorts  # noqa: E402

NOW = datetime(2026, 10, 15, 12, 0, 0)  # a Thursday; its week began on Monday 2026-10-12
US = timedelta(microseconds=1)
NAMES = ["signup", "create_project", "invite_teammate", "upgrade", "login", "page_view"]
QUERIES = run_cohorts.queries()


@pytest.fixture(scope="module")
def spec():
    return segrules.load(run_cohorts.SPEC)


def tables(shop) -> dict[str, pa.Table]:
    return {
        "customers": pa.table({
            "customer_id": pa.array(shop["customers"], pa.int64()),
            "signup_at": pa.array(shop["signups"], pa.timestamp("us"))}),
        "events": pa.table({
            "customer_id": pa.array([e["customer_id"] for e in shop["events"]], pa.int64()),
            "ts": pa.array([e["t"] for e in shop["events"]], pa.timestamp("us")),
            "name": pa.array([e["name"] for e in shop["events"]], pa.string())}),
    }


def segrules_results(spec, con) -> dict[str, dict]:
    """What the segrules variants of the script compute, as cells."""
    from segrules_cohorts.funnels.report import compute_report
    from segrules_cohorts.report import compute_cohort

    return {"retention": run_cohorts.cells(run_cohorts.retention_rows(
                compute_cohort(spec, con, "signup_week", as_of=NOW))),
            "funnel": run_cohorts.cells(run_cohorts.funnel_rows(
                compute_report(spec, con, "onboarding", as_of=NOW)))}


def check(spec, shop) -> None:
    con = ibis.duckdb.connect()
    for name, table in tables(shop).items():
        con.create_table(name, table)
    expected = segrules_results(spec, con)
    raw = con.con  # the same DuckDB database, for the hand-written SQL
    for name, sql in QUERIES.items():
        got = run_cohorts.cells(raw.execute(sql, {"now": NOW}).to_arrow_table().to_pylist())
        want = expected[name.partition(".")[0]]
        assert set(got) == set(want), f"{name}: other cells than segrules\nshop: {shop}"
        bad = {c: (got[c], want[c]) for c in want if not run_cohorts.same(got[c], want[c])}
        assert not bad, f"{name}: cells (SQL, segrules) differ: {bad}\nshop: {shop}"


# --- random data ----------------------------------------------------------------------------------
# Half days before now (negative: after now); NOW - 3.5 days is a Monday midnight, so every 14th
# point is a week boundary; 14-day gaps between grid points are common; a microsecond either side.
_times = st.one_of(
    st.tuples(st.integers(-4, 200), st.sampled_from([-1, 0, 0, 0, 1])).map(
        lambda x: NOW - timedelta(hours=12 * x[0]) + x[1] * US),
    st.just(None),
)
_steps = st.tuples(st.integers(-2, 60), st.sampled_from([-1, 0, 0, 0, 1])).map(
    lambda x: NOW - timedelta(hours=12 * x[0]) + x[1] * US)


@st.composite
def shops(draw):
    n = draw(st.integers(1, 6))
    customers = list(range(1, n + 1))
    owner = st.one_of(st.sampled_from(customers), st.just(n + 1), st.just(None))  # n + 1: no customer
    events = draw(st.lists(st.fixed_dictionaries({
        "customer_id": owner, "t": st.one_of(_times, _steps), "name": st.sampled_from(NAMES)}), max_size=40))
    return {"customers": customers, "signups": draw(st.lists(_times, min_size=n, max_size=n)), "events": events}


@settings(max_examples=30, deadline=None)
@given(shops())
def test_handwritten_cohorts_sql_agrees_with_segrules(spec, shop):
    check(spec, shop)


def _e(c, t, name):
    return {"customer_id": c, "t": t, "name": name}


def test_handwritten_cohorts_sql_ties_and_bounds(spec):
    """Readable cases. Funnel: a project at the signup's own instant is no step 2 (customer 1);
    exactly 14 days after the signup is inside, a microsecond more is not (2, 3); a second signup
    starts a better attempt (4); rows after now do not count (5). Retention: a login on Sunday
    23:59:59.999999 and on the next Monday 00:00 fall in periods 0 and 1 (6); the 12th period
    counts, the 13th does not (7); a login before the signup's week does not count (8); a
    customer without a signup, or signed up after now, is in no cohort (9, 10)."""
    monday = datetime(2026, 8, 3)  # a Monday, 10 weeks before now's week
    d = timedelta(days=1)
    events = [
        _e(1, monday, "signup"), _e(1, monday, "create_project"),
        _e(2, monday, "signup"), _e(2, monday + d, "create_project"), _e(2, monday + 14 * d, "invite_teammate"),
        _e(3, monday, "signup"), _e(3, monday + d, "create_project"),
        _e(3, monday + 14 * d + US, "invite_teammate"),
        _e(4, monday, "signup"), _e(4, monday + 20 * d, "signup"), _e(4, monday + 21 * d, "create_project"),
        _e(4, monday + 22 * d, "invite_teammate"), _e(4, monday + 23 * d, "upgrade"),
        _e(5, NOW - d, "signup"), _e(5, NOW + US, "create_project"),
        _e(6, monday + 7 * d - US, "login"), _e(6, monday + 7 * d, "login"),
        _e(7, datetime(2026, 5, 11) + 12 * 7 * d, "login"), _e(7, datetime(2026, 5, 11) + 13 * 7 * d, "login"),
        _e(8, monday - US, "login"), _e(9, monday, "login"), _e(10, NOW, "login"),
    ]
    signups = [monday] * 4 + [NOW - d, monday + 3 * d, datetime(2026, 5, 11, 9), monday, None, NOW + US]
    shop = {"customers": list(range(1, 11)), "signups": signups, "events": events}
    funnel = segrules_results(spec, _loaded(shop))["funnel"]
    assert [funnel[f"funnel.n{j}"] for j in (1, 2, 3, 4)] == [5, 3, 2, 1]
    retention = segrules_results(spec, _loaded(shop))["retention"]
    assert retention["2026-W32.active0"] == 1 and retention["2026-W32.active1"] == 1  # customer 6
    assert retention["2026-W20.active12"] == 1 and retention["2026-W20.size"] == 1  # customer 7
    check(spec, shop)


def _loaded(shop):
    con = ibis.duckdb.connect()
    for name, table in tables(shop).items():
        con.create_table(name, table)
    return con


# --- the data and the script ------------------------------------------------------------------------
def test_bench_cohorts_data_is_deterministic(tmp_path):
    """Two databases from the same parameters hold the same rows; the as-of time shifts them."""
    def rows(con):
        return [con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in ("customers", "events")]

    made = []
    for _ in range(2):
        con = duckdb.connect()
        cohorts_data.write(con, 300, 12, NOW)
        made.append(rows(con))
    assert made[0] == made[1]
    customers, events = made[0]
    assert len(customers) == 300 and 300 * 8 < len(events) < 300 * 16
    assert {name for _, _, name in events} == set(NAMES)


def documented_commands() -> list[str]:
    """Every ``bench/run_cohorts.py`` command line shown in bench/README.md and docs/performance.md."""
    found = []
    for page in (BENCH / "README.md", ROOT / "docs" / "performance.md"):
        for line in page.read_text(encoding="utf-8").splitlines():
            match = re.search(r"(?:nice )?python bench/run_cohorts\.py[^`#|]*", line)
            if match:
                found.append(match.group(0).strip())
    return list(dict.fromkeys(found))


def small(command: str) -> tuple[str, ...]:
    """The command's options at 1,500 customers and one run per variant."""
    args = shlex.split(command)
    args = args[args.index("bench/run_cohorts.py") + 1:]
    run_cohorts.build_parser().parse_args(args)  # the documented options exist
    text = re.sub(r"--(customers|repeat) \d+", "", " ".join(args))
    return (*text.split(), "--customers", "1500", "--repeat", "1")


def test_bench_cohorts_documented_commands_exist():
    commands = documented_commands()
    assert len(commands) >= 4 and all(small(c) for c in commands)


@pytest.mark.parametrize("args", sorted({small(c) for c in documented_commands()}), ids=" ".join)
def test_bench_cohorts_documented_command_runs(args, tmp_path_factory):
    """Each documented command (those that differ only in size run once), at 1,500 customers
    and one run per variant: it runs every variant and finds them agreeing (exit 0)."""
    data = tmp_path_factory.getbasetemp() / "cohorts_bench_data"  # shared by the runs: a cache
    done = subprocess.run([sys.executable, str(BENCH / "run_cohorts.py"), *args, "--data", str(data)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "variants agree on all" in done.stdout and "FAILED" not in done.stdout
