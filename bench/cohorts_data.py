"""The cohorts benchmark's data: a SaaS product's customers (sign-up times over half a year) and
their events (logins, page views and the onboarding steps signup > create_project >
invite_teammate > upgrade), generated inside DuckDB with SQL, so 100M events take a minute or
two, not the hour a Python loop would.

Per customer (random numbers are hashes of the customer id, the event number and a salt, so the
output depends only on the parameters; no seed state):

* ``signup_at`` uniform over the 26 weeks before ``now``; 1% of the customers have none (null) and
  1% sign up after ``now`` (in no cohort as of ``now``);
* a lifetime, exponential with a mean of 6 weeks, and a number of other events uniform in
  ``0 .. 2 * (events_per_customer - 2)`` (so about ``events_per_customer`` events in all); 90% of
  them fall between the sign-up and the end of the lifetime (70% ``login``, the activity of the
  retention matrix, 30% ``page_view``), 10% up to two weeks before the sign-up (before the start
  period: not counted); those after ``now`` must be ignored;
* the onboarding: a ``signup`` event at ``signup_at`` (3% a second one up to 30 days later, 2% a
  duplicate at the same instant), then ``create_project`` (60%, after an exponential delay of mean
  1 day), ``invite_teammate`` (40% of those, mean 3 days), ``upgrade`` (35% of those, mean 5 days:
  some after the 14-day conversion window); 5% of each delay is zero (a tie: not a later step),
  and 1% of the customers have a ``create_project`` an hour before their sign-up.

The rows are written customer by customer (not sorted by time within a customer).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import harness

_GENERATE = """
-- u(salt, a, b): a uniform number in [0, 1) from a hash of (a, b, salt)
CREATE TEMP MACRO u(salt, a, b) AS (hash(a, b, salt) % 1000000007) / 1000000007.0;
CREATE TEMP MACRO delay_us(salt, id, mean_days) AS
    CASE WHEN u(salt || '-tie', id, 0) < 0.05 THEN 0
         ELSE (-ln(1 - u(salt, id, 0)) * mean_days * 86400e6)::BIGINT END;

CREATE TABLE customers AS
SELECT range AS customer_id,
       CASE WHEN u('nosignup', range, 0) < 0.01 THEN NULL
            WHEN u('future', range, 0) < 0.01
                THEN $now + to_microseconds((u('signup', range, 0) * 14 * 86400e6)::BIGINT)
            ELSE $now - to_microseconds((u('signup', range, 0) * 182 * 86400e6)::BIGINT) END AS signup_at
FROM range(1, $customers + 1);

CREATE TEMP TABLE plan AS
SELECT customer_id, signup_at,
       coalesce(signup_at, $now - INTERVAL 100 DAY) AS anchor,
       floor(u('n', customer_id, 0) * (2 * $other + 1))::BIGINT AS n,
       (-ln(1 - u('life', customer_id, 0)) * 42 * 86400e6)::BIGINT AS life_us,
       signup_at IS NOT NULL AS onboarding,
       u('project', customer_id, 0) < 0.6 AS project,
       u('invite', customer_id, 0) < 0.4 AS invite,
       u('upgrade', customer_id, 0) < 0.35 AS upgrade,
       delay_us('d1', customer_id, 1) AS d1,
       delay_us('d2', customer_id, 3) AS d2,
       delay_us('d3', customer_id, 5) AS d3
FROM customers;

CREATE TABLE events AS
WITH slots AS (SELECT *, unnest(range(n + 6)) AS j FROM plan)
SELECT customer_id,
       CASE j WHEN 0 THEN signup_at
              WHEN 1 THEN CASE WHEN u('again', customer_id, 0) < 0.4 THEN signup_at
                               ELSE signup_at + to_microseconds((u('later', customer_id, 0) * 30 * 86400e6)::BIGINT) END
              WHEN 2 THEN signup_at + to_microseconds(d1)
              WHEN 3 THEN signup_at + to_microseconds(d1 + d2)
              WHEN 4 THEN signup_at + to_microseconds(d1 + d2 + d3)
              WHEN 5 THEN signup_at - INTERVAL 1 HOUR
              ELSE CASE WHEN u('before', customer_id, j) < 0.1
                        THEN anchor - to_microseconds((u('t', customer_id, j) * 14 * 86400e6)::BIGINT)
                        ELSE anchor + to_microseconds((u('t', customer_id, j) * life_us)::BIGINT) END
       END AS ts,
       CASE j WHEN 0 THEN 'signup' WHEN 1 THEN 'signup' WHEN 2 THEN 'create_project'
              WHEN 3 THEN 'invite_teammate' WHEN 4 THEN 'upgrade' WHEN 5 THEN 'create_project'
              ELSE CASE WHEN u('login', customer_id, j) < 0.7 THEN 'login' ELSE 'page_view' END
       END AS name
FROM slots
WHERE j >= 6
   OR (onboarding AND (j = 0
       OR (j = 1 AND u('twice', customer_id, 0) < 0.05)
       OR (j = 2 AND project)
       OR (j = 3 AND project AND invite)
       OR (j = 4 AND project AND invite AND upgrade)
       OR (j = 5 AND u('early', customer_id, 0) < 0.01)));
"""


def data_path(folder: Path, customers: int, events_per_customer: float, now: datetime) -> Path:
    return folder / f"cohorts_c{customers}_e{events_per_customer:g}_{now:%Y%m%dT%H%M%S}.duckdb"


def ensure_cohorts_data(folder: Path, customers: int, events_per_customer: float, now: datetime,
                        threads: int = 2) -> Path:
    """The database for these parameters, generated once and then reused (``folder`` is a cache)."""
    def build(con):
        write(con, customers, events_per_customer, now)
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("customers", "events")}
    return harness.build_database(data_path(folder, customers, events_per_customer, now), build, threads=threads)


def write(con, customers: int, events_per_customer: float, now: datetime) -> None:
    """Create ``customers`` and ``events`` in the DuckDB connection ``con``."""
    con.execute("SET enable_progress_bar = false")
    other = max(events_per_customer - 2, 0)  # the onboarding adds about 2 events per customer
    for statement in filter(str.strip, _GENERATE.split(";\n")):
        params = {k: v for k, v in {"now": now, "customers": customers, "other": other}.items()
                  if f"${k}" in statement}
        con.execute(statement, params)
