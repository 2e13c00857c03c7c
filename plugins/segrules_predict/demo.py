"""Generated data with a planted signal for the predict plugin's example specs, deterministic for a
fixed seed (``segrules predict-demo churn|trial FILE``).

* **churn** (``customers``, ``orders``, ``events``; specs ``segment_specs/churn_30d.yaml``): 4,000
  customers signed up from 2024-07-01 to 2025-03-01, each ordering as a Poisson process of its own
  rate (Gamma(2, 0.6) orders a month) until it churns; the churn hazard is about 7% a month.
  **Planted**: customers in ``DE`` churn at 2.5 times the hazard, and in the 30 days before churning
  a customer's app events fall to a fifth of their rate, so recency, recent orders and recent events
  predict the label "no order in the next 30 days".
* **trial** (``accounts``, ``events``, ``subscriptions``; ``segment_specs/trial_conversion.yaml``):
  3,000 14-day trials started from 2025-01-06 to 2025-05-05. **Planted**: an account converts to
  paid within 7 days of its trial's end with probability ``sigmoid(-3 + 0.35 core features used +
  0.5 logins in the first 3 days + 0.8 [company_size == '200+'])``.

The data ends at ``NOW`` (2025-06-01): the specs' training and test times leave every label window
complete before it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from segrules.plugin import write_duckdb_tables

NOW = datetime(2025, 6, 1)
SEED = 15
_DAY = 86_400.0
_EPOCH = datetime(1970, 1, 1)


def _seconds(t: datetime) -> float:
    return (t - _EPOCH).total_seconds()


def _ts(seconds) -> pa.Array:
    us = (np.asarray(seconds, dtype="float64") * 1e6).astype("int64")
    return pa.array(us, pa.int64()).cast(pa.timestamp("us"))


def _poisson_times(rng, start: float, end: float, per_day: float) -> np.ndarray:
    if end <= start or per_day <= 0:
        return np.empty(0)
    n = rng.poisson(per_day * (end - start) / _DAY)
    return np.sort(rng.uniform(start, end, n))


def churn(rng: np.random.Generator, n: int = 4_000) -> dict[str, pa.Table]:
    now = _seconds(NOW)
    signup = _seconds(datetime(2024, 7, 1)) + rng.uniform(0, 243 * _DAY, n)
    country = rng.choice(["FR", "DE", "ES", "IT"], n, p=[0.35, 0.25, 0.2, 0.2])
    plan = rng.choice(["basic", "plus"], n, p=[0.7, 0.3])
    rate = rng.gamma(2.0, 0.6, n) / 30.0  # orders a day
    hazard = 0.07 / 30.0 * np.where(country == "DE", 2.5, 1.0)  # churns a day
    churn_at = signup + rng.exponential(1.0 / hazard) * _DAY
    o_key, o_time, o_amount, e_key, e_time = [], [], [], [], []
    for i in range(n):
        end = min(churn_at[i], now)
        times = _poisson_times(rng, signup[i], end, rate[i])
        o_key.append(np.full(len(times), i + 1)); o_time.append(times)
        o_amount.append(np.round(rng.lognormal(3.5, 0.4, len(times)), 2))
        fade = max(signup[i], churn_at[i] - 30 * _DAY)  # the 30 days before churning: fewer events
        busy = _poisson_times(rng, signup[i], min(fade, now), 4 * rate[i] + 0.05)
        quiet = _poisson_times(rng, fade, end, (4 * rate[i] + 0.05) / 5)
        e_key.append(np.full(len(busy) + len(quiet), i + 1)); e_time += [busy, quiet]
    o_time_all = np.concatenate(o_time)
    e_time_all = np.concatenate(e_time)
    customers = pa.table({"customer_id": pa.array(np.arange(1, n + 1), pa.int64()), "signup_at": _ts(signup),
                          "country": pa.array(country.tolist()), "plan": pa.array(plan.tolist())})
    orders = pa.table({"order_id": pa.array(np.arange(1, len(o_time_all) + 1), pa.int64()),
                       "customer_id": pa.array(np.concatenate(o_key), pa.int64()), "ordered_at": _ts(o_time_all),
                       "amount": pa.array(np.concatenate(o_amount), pa.float64())})
    names = rng.choice(["view", "search", "wishlist"], len(e_time_all))
    events = pa.table({"event_id": pa.array(np.arange(1, len(e_time_all) + 1), pa.int64()),
                       "customer_id": pa.array(np.concatenate(e_key), pa.int64()), "at": _ts(e_time_all),
                       "name": pa.array(names.tolist())})
    return {"customers": customers, "orders": orders, "events": events}


def trial(rng: np.random.Generator, n: int = 3_000) -> dict[str, pa.Table]:
    start = _seconds(datetime(2025, 1, 6)) + rng.uniform(0, 119 * _DAY, n)
    size = rng.choice(["1-10", "11-200", "200+"], n, p=[0.5, 0.35, 0.15])
    source = rng.choice(["ads", "organic", "partner"], n)
    engagement = rng.gamma(1.5, 1.0, n)
    e_key, e_time, e_name, s_key, s_time = [], [], [], [], []
    for i in range(n):
        early = rng.poisson(1.2 * engagement[i])  # logins in the first 3 days
        later = rng.poisson(1.5 * engagement[i])  # logins on days 3-14
        core = rng.poisson(2.0 * engagement[i])  # core features used during the trial
        times = np.concatenate([start[i] + rng.uniform(0, 3 * _DAY, early),
                                start[i] + rng.uniform(3 * _DAY, 14 * _DAY, later),
                                start[i] + rng.uniform(0, 14 * _DAY, core)])
        e_key.append(np.full(len(times), i + 1)); e_time.append(times)
        e_name += ["login"] * (early + later) + ["core_feature"] * core
        logit = -3 + 0.35 * core + 0.5 * early + 0.8 * (size[i] == "200+")
        if rng.random() < 1 / (1 + np.exp(-logit)):
            s_key.append(i + 1); s_time.append(start[i] + 14 * _DAY + rng.uniform(0, 7 * _DAY))
    e_time_all = np.concatenate(e_time)
    accounts = pa.table({"account_id": pa.array(np.arange(1, n + 1), pa.int64()), "trial_started_at": _ts(start),
                         "company_size": pa.array(size.tolist()), "source": pa.array(source.tolist())})
    events = pa.table({"event_id": pa.array(np.arange(1, len(e_time_all) + 1), pa.int64()),
                       "account_id": pa.array(np.concatenate(e_key), pa.int64()), "at": _ts(e_time_all),
                       "name": pa.array(e_name)})
    subscriptions = pa.table({"subscription_id": pa.array(np.arange(1, len(s_key) + 1), pa.int64()),
                              "account_id": pa.array(s_key, pa.int64()), "paid_at": _ts(s_time)})
    return {"accounts": accounts, "events": events, "subscriptions": subscriptions}


GENERATORS = {"churn": churn, "trial": trial}


def generate(kind: str, seed: int = SEED, **sizes) -> dict[str, pa.Table]:
    return GENERATORS[kind](np.random.default_rng(seed), **sizes)


def write(kind: str, path: str | Path, seed: int = SEED, **sizes) -> dict[str, int]:
    """Write the ``kind`` data set into the DuckDB file ``path`` (tables replaced); rows per table."""
    return write_duckdb_tables(path, generate(kind, seed, **sizes))
