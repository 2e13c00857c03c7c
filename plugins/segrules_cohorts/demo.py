"""Generated data with planted effects for the cohorts plugin's example specs
(``segment_specs/cohorts_*.yaml``), deterministic for a fixed seed and ``now``.

Three situations, each in its own tables of one DuckDB file:

* **acquisition** (``shoppers``, ``purchases``): 10,000 sign-ups over the 13 weeks from Monday
  2025-01-06, each with a first purchase (date and order value) 0-6 days later. In week ``k >= 1``
  after the week of the first purchase a shopper buys again with probability ``0.30 · 0.85^(k-1)``;
  **planted**: shoppers whose first purchase is in ISO week 2025-W07 (a discount week) buy again
  with 0.4 times that probability.
* **logins** (``app_users``, ``logins``): 2,000 sign-ups over the 4 weeks from Monday 2025-03-31;
  on each later day a user logs in with probability ``0.6 · 0.9^days``; **planted**: users from
  the ``ads`` channel (30%) with ``0.6 · 0.75^days`` (they churn faster).
* **experiment** (``accounts``, ``activity``): 4,000 accounts signed up in 2024; in each week from
  Monday 2025-02-03 to 2025-04-27 an account is active (one ``weekly_active`` event) with its own
  probability ``p ~ Beta(2, 3)``. The experiment starts Monday 2025-03-03 with the split of the
  spec (``bucket(account_id, 'template-2025', 100) < 50`` is treatment); **planted**: from the start,
  treatment accounts are active with probability ``min(1, p + 0.08)``, so over 8 weeks they are
  active 0.64 weeks more on average (a little less where ``p + 0.08`` is capped at 1).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from segrules.plugin import write_duckdb_tables

NOW = datetime(2025, 4, 28)
SEED = 14
_US = 1_000_000
_DAY = 86_400 * _US
_EPOCH = datetime(1970, 1, 1)


def _us(t: datetime) -> int:
    return (t - _EPOCH) // timedelta(microseconds=1)


def _ts(values) -> pa.Array:
    return pa.array(np.asarray(values, dtype="int64"), pa.int64()).cast(pa.timestamp("us"))


def _week_start(us: np.ndarray) -> np.ndarray:
    """Monday 00:00 of each time's week (1970-01-05 was a Monday)."""
    monday = _us(datetime(1970, 1, 5))
    return us - (us - monday) % (7 * _DAY)


def acquisition(rng: np.random.Generator, now_us: int, n: int = 10_000) -> dict[str, pa.Table]:
    start = _us(datetime(2025, 1, 6))
    signup = start + rng.integers(0, 91 * _DAY, n)
    first = np.minimum(signup + rng.integers(0, 7 * _DAY, n), now_us - 1)
    value = np.round(rng.lognormal(3.6, 0.5, n), 2)
    promo = _week_start(first) == _us(datetime(2025, 2, 10))  # ISO week 2025-W07
    ids, times, amounts = [np.arange(1, n + 1)], [first], [value]
    for k in range(1, 17):
        p = 0.30 * 0.85 ** (k - 1) * np.where(promo, 0.4, 1.0)
        at = _week_start(first) + k * 7 * _DAY + rng.integers(0, 7 * _DAY, n)
        buys = (rng.random(n) < p) & (at <= now_us)
        ids.append(np.arange(1, n + 1)[buys])
        times.append(at[buys])
        amounts.append(np.round(rng.lognormal(3.4, 0.6, int(buys.sum())), 2))
    shoppers = pa.table({"customer_id": pa.array(np.arange(1, n + 1), pa.int64()), "signup_at": _ts(signup),
                         "first_purchase_at": _ts(first), "first_order_value": pa.array(value, pa.float64())})
    order = np.lexsort((np.concatenate(times), np.concatenate(ids)))
    purchases = pa.table({"customer_id": pa.array(np.concatenate(ids)[order], pa.int64()),
                          "purchased_at": _ts(np.concatenate(times)[order]),
                          "amount": pa.array(np.concatenate(amounts)[order], pa.float64())})
    return {"shoppers": shoppers, "purchases": purchases}


def logins(rng: np.random.Generator, now_us: int, n: int = 2_000) -> dict[str, pa.Table]:
    start = _us(datetime(2025, 3, 31))
    signup = start + rng.integers(0, 28 * _DAY, n)
    ads = rng.random(n) < 0.3
    channel = np.where(ads, "ads", np.where(rng.random(n) < 0.5, "organic", "referral"))
    ids, times = [], []
    for day in range(0, 29):
        p = 0.6 * np.where(ads, 0.75, 0.9) ** day
        at = signup + day * _DAY + rng.integers(0, _DAY, n) if day else signup + rng.integers(0, 3_600 * _US, n)
        logs = (rng.random(n) < (1.0 if day == 0 else p)) & (at <= now_us)
        ids.append(np.arange(1, n + 1)[logs])
        times.append(at[logs])
    users = pa.table({"user_id": pa.array(np.arange(1, n + 1), pa.int64()), "signup_at": _ts(signup),
                      "channel": pa.array(channel.tolist(), pa.string())})
    order = np.lexsort((np.concatenate(times), np.concatenate(ids)))
    return {"app_users": users, "logins": pa.table({"user_id": pa.array(np.concatenate(ids)[order], pa.int64()),
                                                     "login_at": _ts(np.concatenate(times)[order])})}


def _bucket(key: int, salt: str, n: int) -> int:
    """segrules' bucket() in Python (docs/language.md)."""
    return int(hashlib.md5(f"{salt}:{key}".encode()).hexdigest()[:8], 16) % n


def experiment(rng: np.random.Generator, now_us: int, n: int = 4_000) -> dict[str, pa.Table]:
    signup = _us(datetime(2024, 1, 1)) + rng.integers(0, 360 * _DAY, n)
    p = rng.beta(2, 3, n)
    treated = np.array([_bucket(i, "template-2025", 100) < 50 for i in range(1, n + 1)])
    start = _us(datetime(2025, 3, 3))
    ids, times = [], []
    for week in range(-4, 8):
        monday = start + week * 7 * _DAY
        prob = np.minimum(1.0, p + np.where(treated & (week >= 0), 0.08, 0.0))
        at = monday + rng.integers(0, 7 * _DAY, n)
        active = (rng.random(n) < prob) & (at <= now_us)
        ids.append(np.arange(1, n + 1)[active])
        times.append(at[active])
    order = np.lexsort((np.concatenate(times), np.concatenate(ids)))
    count = int(order.size)
    accounts = pa.table({"account_id": pa.array(np.arange(1, n + 1), pa.int64()), "signup_at": _ts(signup),
                         "plan": pa.array(np.where(rng.random(n) < 0.2, "team", "solo").tolist(), pa.string())})
    activity = pa.table({"account_id": pa.array(np.concatenate(ids)[order], pa.int64()),
                         "active_at": _ts(np.concatenate(times)[order]),
                         "name": pa.array(["weekly_active"] * count, pa.string())})
    return {"accounts": accounts, "activity": activity}


def write_growth_demo(path: str | Path, *, now: datetime = NOW, seed: int = SEED) -> dict[str, int]:
    """Write the three situations' tables into the DuckDB file ``path`` (replacing them); returns
    the row count per table. The same arguments always give the same data."""
    now_us = _us(now)
    tables = {}
    for i, make in enumerate((acquisition, logins, experiment)):
        tables.update(make(np.random.default_rng([seed, i]), now_us))
    return write_duckdb_tables(path, tables)
