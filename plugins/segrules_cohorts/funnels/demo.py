"""Generated data for the onboarding situation of docs/plugins/funnels.md: SaaS sign-ups over 60
days whose onboarding (Sign Up > Created First Project > Invited Teammate > Upgraded) converts
about 5% to paying, with the drop-off planted at the teammate invitation and its rate planted by
company size (small companies rarely invite anyone) and traffic source (Product Hunt visitors
rarely create a project or upgrade, direct visitors upgrade most). Deterministic: a fixed seed and a fixed ``now``.

    python -m segrules_cohorts.funnels.demo onboarding.duckdb
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

NOW = datetime(2025, 6, 1)
SIZES = ("1-10", "11-50", "51-200", "201+")
SIZE_SHARE = (0.45, 0.30, 0.15, 0.10)
INVITE_RATE = (0.12, 0.30, 0.40, 0.45)  # of those with a project: the planted drop-off, by size
SOURCES = ("google", "linkedin", "producthunt", None)  # None: no utm_source (direct)
SOURCE_SHARE = (0.40, 0.20, 0.15, 0.25)
PROJECT_RATE = (0.58, 0.62, 0.32, 0.60)  # of sign-ups, by source
UPGRADE_RATE = (0.48, 0.55, 0.35, 0.62)  # of those who invited a teammate, by source
LATE_SHARE = 0.15  # of upgrades: after the 14-day conversion window


def _hours(rng, median: float, size: int) -> np.ndarray:
    return rng.lognormal(np.log(median), 0.8, size)


def generate(users: int = 6000, seed: int = 14, now: datetime = NOW) -> dict[str, pa.Table]:
    """The ``users`` and ``events`` tables (PyArrow)."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1, users + 1)
    signup = np.array([now - timedelta(days=60)]) + rng.uniform(0, 60 * 24, users) * timedelta(hours=1)
    size = rng.choice(len(SIZES), users, p=SIZE_SHARE)
    source = rng.choice(len(SOURCES), users, p=SOURCE_SHARE)
    project = rng.random(users) < np.take(PROJECT_RATE, source)
    invite = project & (rng.random(users) < np.take(INVITE_RATE, size))
    upgrade = invite & (rng.random(users) < np.take(UPGRADE_RATE, source))
    t_project = signup + _hours(rng, 6, users) * timedelta(hours=1)
    t_invite = t_project + _hours(rng, 40, users) * timedelta(hours=1)
    late = rng.random(users) < LATE_SHARE
    t_upgrade = t_invite + np.where(late, 24 * 16 + _hours(rng, 48, users), _hours(rng, 60, users)) * timedelta(hours=1)
    names, owners, times = [], [], []

    def add(name, mask, when):
        keep = mask & (when <= now)  # what happened by now
        names.extend([name] * int(keep.sum()))
        owners.extend(ids[keep].tolist())
        times.extend(when[keep].tolist())

    add("signup", np.ones(users, bool), signup)
    add("page_view", rng.random(users) < 0.9, signup + _hours(rng, 2, users) * timedelta(hours=1))
    add("create_project", project, t_project)
    add("create_project", project & (rng.random(users) < 0.3), t_project + _hours(rng, 72, users) * timedelta(hours=1))
    add("invite_teammate", invite, t_invite)
    add("upgrade", upgrade, t_upgrade)
    order = np.lexsort((np.array(names), np.array(times), np.array(owners)))
    events = pa.table({"user_id": pa.array(np.array(owners)[order], pa.int64()),
                       "name": pa.array(np.array(names)[order].tolist(), pa.string()),
                       "ts": pa.array(np.array(times)[order].tolist(), pa.timestamp("us"))})
    users_table = pa.table({"user_id": pa.array(ids, pa.int64()),
                            "signed_up_at": pa.array(signup.tolist(), pa.timestamp("us")),
                            "company_size": pa.array([SIZES[i] for i in size], pa.string()),
                            "utm_source": pa.array([SOURCES[i] for i in source], pa.string())})
    return {"users": users_table, "events": events}


def write_onboarding_data(path: str | Path, **options) -> dict[str, int]:
    """Write the tables into the DuckDB file ``path`` (replacing them); rows per table."""
    import ibis

    con = ibis.duckdb.connect(str(path))
    try:
        tables = generate(**options)
        for name, table in tables.items():
            con.create_table(name, table, overwrite=True)
        return {name: table.num_rows for name, table in tables.items()}
    finally:
        con.disconnect()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m segrules_cohorts.funnels.demo DB.duckdb")
    for table, rows in write_onboarding_data(sys.argv[1]).items():
        print(f"{table}: {rows:,} rows")
