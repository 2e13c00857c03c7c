"""The behaviour benchmark's data: the demo shop (segrules.demo) with a pricing -> checkout -> paid
order funnel in it, derived inside DuckDB from the cached demo database.

From the demo events: 20% of the ``page_view`` events become ``view_pricing`` and every
``checkout_start`` becomes ``checkout`` (the checkouts nobody followed up on). Then funnels:

* 35% of the ``view_pricing`` events are followed by a ``checkout`` of the same customer, after an
  exponential delay (mean 2 days, so some fall outside a 7-day conversion), 10% of them at the
  very same microsecond (a tie: not a later step);
* 5% of the ``view_pricing`` events fire twice at the same time (ties within one step);
* half of those checkouts are followed by an order (85% paid), after an exponential delay (mean
  6 hours), 10% of them at the checkout's own time (a tie across sources).

Delays may push a row past ``now``: the point-in-time rule must ignore it. Random numbers are
hashes of the row ids, so the output depends only on the demo database; the rows are written
sorted by customer and time, as the demo writes them.
"""

from __future__ import annotations

from pathlib import Path

import harness

_DERIVE = """
CREATE TABLE customers AS SELECT * FROM demo.customers ORDER BY customer_id;

CREATE TEMP TABLE base_events AS
SELECT event_id, customer_id, ts,
       CASE WHEN name = 'checkout_start' THEN 'checkout'
            WHEN name = 'page_view' AND hash(event_id, 'pricing') % 100 < 20 THEN 'view_pricing'
            ELSE name END AS name
FROM demo.events;

-- u(id, salt): a uniform number in [0, 1) from a hash of the row id
CREATE TEMP MACRO u(id, salt) AS (hash(id, salt) % 1000000007) / 1000000007.0;
CREATE TEMP MACRO delay_us(id, salt, mean_us, tie_share) AS
    CASE WHEN u(id, salt || '-tie') < tie_share THEN 0
         ELSE (-ln(1 - u(id, salt)) * mean_us)::BIGINT END;

CREATE TEMP TABLE checkouts AS
SELECT event_id AS cause, customer_id,
       ts + to_microseconds(delay_us(event_id, 'checkout', 2 * 86400e6, 0.10)) AS ts
FROM base_events
WHERE name = 'view_pricing' AND u(event_id, 'converts') < 0.35;

CREATE TEMP TABLE funnel_orders AS
SELECT customer_id,
       ts + to_microseconds(delay_us(cause, 'order', 6 * 3600e6, 0.10)) AS ordered_at,
       (5 + 195 * u(cause, 'amount') * u(cause, 'amount2'))::DECIMAL(12, 2) AS amount,
       CASE WHEN u(cause, 'status') < 0.85 THEN 'paid'
            WHEN u(cause, 'status') < 0.93 THEN 'cancelled' ELSE 'pending' END AS status
FROM checkouts
WHERE u(cause, 'buys') < 0.5;

CREATE TABLE events AS
SELECT row_number() OVER (ORDER BY customer_id, ts, name) AS event_id,
       customer_id, ts, name
FROM (SELECT customer_id, ts, name FROM base_events
      UNION ALL SELECT customer_id, ts, 'checkout' FROM checkouts
      UNION ALL SELECT customer_id, ts, name FROM base_events
                WHERE name = 'view_pricing' AND u(event_id, 'double') < 0.05)
ORDER BY customer_id, ts, name;

CREATE TABLE orders AS
SELECT row_number() OVER (ORDER BY customer_id, ordered_at, status, amount) AS order_id,
       customer_id, ordered_at, amount, status
FROM (SELECT customer_id, ordered_at, amount, status FROM demo.orders
      UNION ALL SELECT * FROM funnel_orders)
ORDER BY customer_id, ordered_at, status, amount;
"""


def ensure_behaviour_data(demo: Path) -> Path:
    """The funnel database derived from the demo database ``demo``, made once and then reused."""
    def build(con):
        con.execute(f"ATTACH '{demo}' AS demo (READ_ONLY)")
        con.execute(_DERIVE)
        con.execute("DETACH demo")
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("customers", "events", "orders")}
    return harness.build_database(demo.with_name(f"behaviour_{demo.name}"), build, verb="derived")
