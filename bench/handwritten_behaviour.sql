-- The definitions of bench/behaviour_sequence.yaml and bench/behaviour_rank.yaml written by hand
-- for DuckDB, one statement per "-- query: DEFINITION.FORMULATION" marker. bench/run_behaviour.py times them against segrules;
-- its BEST table names the formulation that is the baseline of each definition (the fastest
-- correct one measured, see docs/performance.md), the others can be timed with --formulations.
-- tests/test_bench_behaviour_sql.py checks every statement against a brute-force Python
-- implementation of the semantics on small random data with ties.
-- $now is a bound TIMESTAMP parameter (the as-of time). Every statement returns one row per
-- customer: customer_id, member (BOOLEAN), value.
--
-- The sequence (docs/language.md): an attempt starts at a step-1 row; step k+1 is a row of step
-- k+1 strictly later than the time used for step k; with convert D every step is at most D after
-- the step-1 time; the value is the furthest step of the best attempt, 0 without a step-1 row.
-- Taking the earliest next row is never worse (it leaves a superset of choices for the following
-- steps under the same deadline), and among the step-1 rows before a given step-2 row the latest
-- has the latest deadline; the formulations below use one or both of these facts.

-- query: funnel.asof
-- For each checkout: the first paid order strictly after it and the last pricing view strictly
-- before it (two ASOF joins); reaching step 2 needs the checkout within 7 days of that view.
WITH
s1 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'view_pricing' AND ts <= $now),
s2 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'checkout' AND ts <= $now),
s3 AS (SELECT customer_id AS k, ordered_at AS t FROM orders WHERE status = 'paid' AND ordered_at <= $now),
n3 AS (SELECT s2.k, s2.t AS t2, s3.t AS t3 FROM s2 ASOF LEFT JOIN s3 ON s2.k = s3.k AND s3.t > s2.t),
chain AS (SELECT n3.k, s1.t AS t1, n3.t2, n3.t3 FROM n3 ASOF JOIN s1 ON n3.k = s1.k AND s1.t < n3.t2),
per AS (
    SELECT k, max(v) AS v FROM (
        SELECT k, CASE WHEN t3 <= t1 + INTERVAL 7 DAY THEN 3 ELSE 2 END AS v
        FROM chain WHERE t2 <= t1 + INTERVAL 7 DAY
        UNION ALL
        SELECT k, 1 FROM s1)
    GROUP BY k
)
SELECT c.customer_id, coalesce(per.v, 0) = 3 AS member, coalesce(per.v, 0) AS value
FROM customers AS c LEFT JOIN per ON per.k = c.customer_id;

-- query: funnel.asof_forward
-- For each pricing view: the first checkout strictly after it, carrying that checkout's first paid
-- order strictly after it (two ASOF joins, the second one first). No view is left out (LEFT).
WITH
s1 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'view_pricing' AND ts <= $now),
s2 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'checkout' AND ts <= $now),
s3 AS (SELECT customer_id AS k, ordered_at AS t FROM orders WHERE status = 'paid' AND ordered_at <= $now),
n3 AS (SELECT s2.k, s2.t AS t2, s3.t AS t3 FROM s2 ASOF LEFT JOIN s3 ON s2.k = s3.k AND s3.t > s2.t),
per AS (
    SELECT s1.k, max(CASE WHEN n3.t3 <= s1.t + INTERVAL 7 DAY THEN 3
                          WHEN n3.t2 <= s1.t + INTERVAL 7 DAY THEN 2 ELSE 1 END) AS v
    FROM s1 ASOF LEFT JOIN n3 ON s1.k = n3.k AND n3.t2 > s1.t
    GROUP BY s1.k
)
SELECT c.customer_id, coalesce(per.v, 0) = 3 AS member, coalesce(per.v, 0) AS value
FROM customers AS c LEFT JOIN per ON per.k = c.customer_id;

-- query: funnel.pairs
-- Each pricing view paired with the checkouts of the next 7 days (a range join on the customer),
-- each checkout carrying the first paid order strictly after it (an ASOF join).
WITH
s1 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'view_pricing' AND ts <= $now),
s2 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'checkout' AND ts <= $now),
s3 AS (SELECT customer_id AS k, ordered_at AS t FROM orders WHERE status = 'paid' AND ordered_at <= $now),
n3 AS (SELECT s2.k, s2.t AS t2, s3.t AS t3 FROM s2 ASOF LEFT JOIN s3 ON s2.k = s3.k AND s3.t > s2.t),
per AS (
    SELECT k, max(v) AS v FROM (
        SELECT s1.k, CASE WHEN n3.t3 <= s1.t + INTERVAL 7 DAY THEN 3 ELSE 2 END AS v
        FROM s1 JOIN n3 ON s1.k = n3.k AND n3.t2 > s1.t AND n3.t2 <= s1.t + INTERVAL 7 DAY
        UNION ALL
        SELECT k, 1 FROM s1)
    GROUP BY k
)
SELECT c.customer_id, coalesce(per.v, 0) = 3 AS member, coalesce(per.v, 0) AS value
FROM customers AS c LEFT JOIN per ON per.k = c.customer_id;

-- query: funnel.joins
-- Joins only: every view with every checkout of its 7 days, and every such pair with every paid
-- order after the checkout and within the view's 7 days (LEFT: a view without a checkout still
-- counts 1). Any valid chain may be chosen, so the best one is among the rows. The work grows with
-- the pairs inside the conversion window (quadratic for a customer with many rows in one week).
WITH
s1 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'view_pricing' AND ts <= $now),
s2 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'checkout' AND ts <= $now),
s3 AS (SELECT customer_id AS k, ordered_at AS t FROM orders WHERE status = 'paid' AND ordered_at <= $now),
per AS (
    SELECT s1.k, max(CASE WHEN s3.t IS NOT NULL THEN 3 WHEN s2.t IS NOT NULL THEN 2 ELSE 1 END) AS v
    FROM s1
    LEFT JOIN s2 ON s2.k = s1.k AND s2.t > s1.t AND s2.t <= s1.t + INTERVAL 7 DAY
    LEFT JOIN s3 ON s3.k = s1.k AND s3.t > s2.t AND s3.t <= s1.t + INTERVAL 7 DAY
    GROUP BY s1.k
)
SELECT c.customer_id, coalesce(per.v, 0) = 3 AS member, coalesce(per.v, 0) AS value
FROM customers AS c LEFT JOIN per ON per.k = c.customer_id;

-- query: funnel.window
-- One pass over the step rows of each customer in time order, one row per (customer, time) so
-- that "strictly later" is "a following row": the next paid order after each row, then for each
-- view the next checkout after it and that checkout's next paid order.
WITH
steps AS (
    SELECT customer_id AS k, ts AS t, name = 'view_pricing' AS is1, name = 'checkout' AS is2, false AS is3
    FROM events WHERE name IN ('view_pricing', 'checkout') AND ts <= $now
    UNION ALL
    SELECT customer_id, ordered_at, false, false, true FROM orders WHERE status = 'paid' AND ordered_at <= $now
),
by_time AS (SELECT k, t, bool_or(is1) AS is1, bool_or(is2) AS is2, bool_or(is3) AS is3 FROM steps GROUP BY k, t),
next3 AS (
    SELECT *, min(CASE WHEN is3 THEN t END) OVER (PARTITION BY k ORDER BY t
                                                  ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS n3
    FROM by_time
),
chain AS (
    SELECT k, t, is1,
           min(CASE WHEN is2 THEN t END) OVER later AS t2,
           -- n3 of that next checkout ('infinity': it has none, which IGNORE NULLS must not skip)
           first_value(CASE WHEN is2 THEN coalesce(n3, 'infinity'::TIMESTAMP) END IGNORE NULLS) OVER later AS t3
    FROM next3
    WINDOW later AS (PARTITION BY k ORDER BY t ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING)
),
per AS (
    SELECT k, max(CASE WHEN t3 <= t + INTERVAL 7 DAY THEN 3 WHEN t2 <= t + INTERVAL 7 DAY THEN 2 ELSE 1 END) AS v
    FROM chain WHERE is1 GROUP BY k
)
SELECT c.customer_id, coalesce(per.v, 0) = 3 AS member, coalesce(per.v, 0) AS value
FROM customers AS c LEFT JOIN per ON per.k = c.customer_id;

-- query: funnel_90d.joins
-- As funnel.joins, every step's rows limited to the last 90 days (now - 90d < t <= now).
WITH
s1 AS (SELECT customer_id AS k, ts AS t FROM events
       WHERE name = 'view_pricing' AND ts <= $now AND ts > $now - INTERVAL 90 DAY),
s2 AS (SELECT customer_id AS k, ts AS t FROM events
       WHERE name = 'checkout' AND ts <= $now AND ts > $now - INTERVAL 90 DAY),
s3 AS (SELECT customer_id AS k, ordered_at AS t FROM orders
       WHERE status = 'paid' AND ordered_at <= $now AND ordered_at > $now - INTERVAL 90 DAY),
per AS (
    SELECT s1.k, max(CASE WHEN s3.t IS NOT NULL THEN 3 WHEN s2.t IS NOT NULL THEN 2 ELSE 1 END) AS v
    FROM s1
    LEFT JOIN s2 ON s2.k = s1.k AND s2.t > s1.t AND s2.t <= s1.t + INTERVAL 7 DAY
    LEFT JOIN s3 ON s3.k = s1.k AND s3.t > s2.t AND s3.t <= s1.t + INTERVAL 7 DAY
    GROUP BY s1.k
)
SELECT c.customer_id, coalesce(per.v, 0) = 3 AS member, coalesce(per.v, 0) AS value
FROM customers AS c LEFT JOIN per ON per.k = c.customer_id;

-- query: stuck_at_checkout.greedy
-- Without convert the earliest attempt is the best one: the first pricing view, the first checkout
-- strictly after it, and whether any paid order comes strictly after that checkout (the latest
-- paid order is later). One grouped aggregation per step.
WITH
s1 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'view_pricing' AND ts <= $now),
s2 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'checkout' AND ts <= $now),
s3 AS (SELECT customer_id AS k, ordered_at AS t FROM orders WHERE status = 'paid' AND ordered_at <= $now),
first1 AS (SELECT k, min(t) AS t1 FROM s1 GROUP BY k),
first2 AS (
    SELECT first1.k, min(s2.t) AS t2
    FROM first1 LEFT JOIN s2 ON s2.k = first1.k AND s2.t > first1.t1
    GROUP BY first1.k
),
last3 AS (SELECT k, max(t) AS t3 FROM s3 GROUP BY k),
per AS (
    SELECT first2.k, 1 + (first2.t2 IS NOT NULL)::INT + coalesce(last3.t3 > first2.t2, false)::INT AS v
    FROM first2 LEFT JOIN last3 ON last3.k = first2.k
)
SELECT c.customer_id, coalesce(per.v, 0) = 2 AS member, coalesce(per.v, 0) AS value
FROM customers AS c LEFT JOIN per ON per.k = c.customer_id;

-- query: stuck_at_checkout.asof
-- The same greedy chain with ASOF joins: the first pricing view, then the first checkout strictly
-- after it, then the first paid order strictly after that.
WITH
s1 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'view_pricing' AND ts <= $now),
s2 AS (SELECT customer_id AS k, ts AS t FROM events WHERE name = 'checkout' AND ts <= $now),
s3 AS (SELECT customer_id AS k, ordered_at AS t FROM orders WHERE status = 'paid' AND ordered_at <= $now),
first1 AS (SELECT k, min(t) AS t1 FROM s1 GROUP BY k),
next2 AS (SELECT first1.k, s2.t AS t2 FROM first1 ASOF JOIN s2 ON s2.k = first1.k AND s2.t > first1.t1),
next3 AS (SELECT next2.k, s3.t AS t3 FROM next2 ASOF JOIN s3 ON s3.k = next2.k AND s3.t > next2.t2),
per AS (
    SELECT first1.k, 1 + (next2.k IS NOT NULL)::INT + (next3.k IS NOT NULL)::INT AS v
    FROM first1 LEFT JOIN next2 USING (k) LEFT JOIN next3 USING (k)
)
SELECT c.customer_id, coalesce(per.v, 0) = 2 AS member, coalesce(per.v, 0) AS value
FROM customers AS c LEFT JOIN per ON per.k = c.customer_id;

-- query: top_spenders.counting
-- PERCENT_RANK without sorting the customers: (customers with a smaller value) / (N - 1),
-- counted over the distinct values and joined back (one single customer ranks 0, as
-- PERCENT_RANK does). The value is never null: a sum over no rows is 0.
WITH
spend AS (
    SELECT customer_id, sum(amount) AS s FROM orders
    WHERE ordered_at <= $now AND ordered_at > $now - INTERVAL 365 DAY
    GROUP BY customer_id
),
x AS (SELECT c.customer_id, coalesce(spend.s, 0) AS x FROM customers AS c LEFT JOIN spend USING (customer_id)),
distinct_x AS (SELECT x, count(*) AS n FROM x GROUP BY x),
ranked AS (
    SELECT x, CASE WHEN sum(n) OVER () > 1
                   THEN ((sum(n) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) - n) / (sum(n) OVER () - 1))::DOUBLE
                   ELSE 0 END AS value
    FROM distinct_x
)
SELECT x.customer_id, ranked.value >= 0.9 AS member, ranked.value
FROM x JOIN ranked ON ranked.x = x.x;

-- query: top_spenders.window
-- PERCENT_RANK as a window over the customers sorted by their value.
WITH
spend AS (
    SELECT customer_id, sum(amount) AS s FROM orders
    WHERE ordered_at <= $now AND ordered_at > $now - INTERVAL 365 DAY
    GROUP BY customer_id
),
x AS (SELECT c.customer_id, coalesce(spend.s, 0) AS x FROM customers AS c LEFT JOIN spend USING (customer_id)),
ranked AS (SELECT customer_id, percent_rank() OVER (ORDER BY x) AS value FROM x)
SELECT customer_id, value >= 0.9 AS member, value FROM ranked;

-- query: most_engaged.counting
-- As top_spenders.counting, of the number of events of the last 90 days.
WITH
activity AS (
    SELECT customer_id, count(*) AS n FROM events
    WHERE ts <= $now AND ts > $now - INTERVAL 90 DAY
    GROUP BY customer_id
),
x AS (SELECT c.customer_id, coalesce(activity.n, 0) AS x FROM customers AS c LEFT JOIN activity USING (customer_id)),
distinct_x AS (SELECT x, count(*) AS n FROM x GROUP BY x),
ranked AS (
    SELECT x, CASE WHEN sum(n) OVER () > 1
                   THEN ((sum(n) OVER (ORDER BY x ROWS UNBOUNDED PRECEDING) - n) / (sum(n) OVER () - 1))::DOUBLE
                   ELSE 0 END AS value
    FROM distinct_x
)
SELECT x.customer_id, ranked.value >= 0.9 AS member, ranked.value
FROM x JOIN ranked ON ranked.x = x.x;

-- query: most_engaged.window
-- PERCENT_RANK as a window over the customers sorted by their number of events of the last 90 days.
WITH
activity AS (
    SELECT customer_id, count(*) AS n FROM events
    WHERE ts <= $now AND ts > $now - INTERVAL 90 DAY
    GROUP BY customer_id
),
x AS (SELECT c.customer_id, coalesce(activity.n, 0) AS x FROM customers AS c LEFT JOIN activity USING (customer_id)),
ranked AS (SELECT customer_id, percent_rank() OVER (ORDER BY x) AS value FROM x)
SELECT customer_id, value >= 0.9 AS member, value FROM ranked;
