-- The analyses of bench/cohorts_bench.yaml written by hand for DuckDB, one statement per
-- "-- query: ANALYSIS.FORMULATION" marker. bench/run_cohorts.py times them against segrules; its
-- BEST table names the formulation that is the baseline of each analysis (the fastest correct
-- one measured, see docs/performance.md), the others can be timed with --formulations.
-- tests/test_bench_cohorts_sql.py checks every statement against segrules (and so against the
-- plugin's pandas and plain-Python references) on small random data with ties and edge times.
-- $now is a bound TIMESTAMP parameter (the as-of time).
--
-- retention (docs/plugins/cohorts.md; cohort signup_week: start signup_at, grain week, activity
-- events where name == 'login', 12 periods, classic): a customer with signup_at at or before now
-- is in the cohort of its ISO week (Monday to Sunday); a login at or before now in week
-- w >= that week makes it active in period k = w - cohort (k <= 12). One row per cohort, in
-- cohort order: cohort (its label, 2026-W16), size, active0 .. active12, NULL for the periods
-- not ended (week(now) - cohort <= k: a running period is not counted yet). Week numbers: whole
-- weeks since Monday 1969-12-29, i.e. (days since 1970-01-01 + 3) // 7 (exact integer
-- arithmetic for times after 1970).
--
-- funnel (docs/plugins/funnels.md; funnel onboarding: signup > create_project > invite_teammate
-- > upgrade, convert 14d, entry any): every signup at or before now starts an attempt (the same
-- instant twice is one attempt); each next step is the earliest row of that step strictly after
-- the previous step's row and at most 14 days after the attempt's signup (the greedy chain, which
-- reaches as far as any choice of rows); a customer's chain is that of the attempt reaching the
-- furthest step, the earliest such attempt on a tie. One row: n1 .. n4 (customers reaching each
-- step) and q50_j, q90_j (j = 2..4): the median and 90th percentile (linear interpolation) of
-- the seconds from step j-1 to step j over the customers whose chain reached step j.

-- query: retention.flags
-- The plugin's plan: per customer one 0/1 flag per period (MAX over the logins), then per cohort
-- the sums of the flags.
WITH
starts AS (
    SELECT customer_id, (epoch_us(signup_at) // 86400000000 + 3) // 7 AS cohort
    FROM customers WHERE signup_at <= $now),
logins AS (
    SELECT customer_id, (epoch_us(ts) // 86400000000 + 3) // 7 AS w
    FROM events WHERE name = 'login' AND ts <= $now),
flags AS (
    SELECT l.customer_id,
           max((w - cohort = 0)::INT) AS a0, max((w - cohort = 1)::INT) AS a1,
           max((w - cohort = 2)::INT) AS a2, max((w - cohort = 3)::INT) AS a3,
           max((w - cohort = 4)::INT) AS a4, max((w - cohort = 5)::INT) AS a5,
           max((w - cohort = 6)::INT) AS a6, max((w - cohort = 7)::INT) AS a7,
           max((w - cohort = 8)::INT) AS a8, max((w - cohort = 9)::INT) AS a9,
           max((w - cohort = 10)::INT) AS a10, max((w - cohort = 11)::INT) AS a11,
           max((w - cohort = 12)::INT) AS a12
    FROM logins AS l JOIN starts AS s ON s.customer_id = l.customer_id
    WHERE w - cohort BETWEEN 0 AND 12
    GROUP BY l.customer_id),
m AS (
    SELECT cohort, count(*) AS size,
           count(*) FILTER (a0 = 1) AS a0, count(*) FILTER (a1 = 1) AS a1, count(*) FILTER (a2 = 1) AS a2,
           count(*) FILTER (a3 = 1) AS a3, count(*) FILTER (a4 = 1) AS a4, count(*) FILTER (a5 = 1) AS a5,
           count(*) FILTER (a6 = 1) AS a6, count(*) FILTER (a7 = 1) AS a7, count(*) FILTER (a8 = 1) AS a8,
           count(*) FILTER (a9 = 1) AS a9, count(*) FILTER (a10 = 1) AS a10,
           count(*) FILTER (a11 = 1) AS a11, count(*) FILTER (a12 = 1) AS a12
    FROM starts LEFT JOIN flags USING (customer_id)
    GROUP BY cohort),
o AS (SELECT (epoch_us($now::TIMESTAMP) // 86400000000 + 3) // 7 - cohort AS seen, * FROM m)
SELECT strftime(DATE '1969-12-29' + 7 * cohort::INT, '%G-W%V') AS cohort, size,
       CASE WHEN seen > 0 THEN a0 END AS active0, CASE WHEN seen > 1 THEN a1 END AS active1,
       CASE WHEN seen > 2 THEN a2 END AS active2, CASE WHEN seen > 3 THEN a3 END AS active3,
       CASE WHEN seen > 4 THEN a4 END AS active4, CASE WHEN seen > 5 THEN a5 END AS active5,
       CASE WHEN seen > 6 THEN a6 END AS active6, CASE WHEN seen > 7 THEN a7 END AS active7,
       CASE WHEN seen > 8 THEN a8 END AS active8, CASE WHEN seen > 9 THEN a9 END AS active9,
       CASE WHEN seen > 10 THEN a10 END AS active10, CASE WHEN seen > 11 THEN a11 END AS active11,
       CASE WHEN seen > 12 THEN a12 END AS active12
FROM o ORDER BY o.cohort;

-- query: retention.bitmask
-- Per customer one bitmask of its active periods (BIT_OR of 1 << k), then per cohort the number
-- of masks with bit k set: one aggregate per customer instead of thirteen.
WITH
starts AS (
    SELECT customer_id, (epoch_us(signup_at) // 86400000000 + 3) // 7 AS cohort
    FROM customers WHERE signup_at <= $now),
masks AS (
    SELECT e.customer_id, bit_or(1 << (((epoch_us(ts) // 86400000000 + 3) // 7) - cohort)) AS mask
    FROM events AS e JOIN starts AS s ON s.customer_id = e.customer_id
    WHERE name = 'login' AND ts <= $now
      AND ((epoch_us(ts) // 86400000000 + 3) // 7) - cohort BETWEEN 0 AND 12
    GROUP BY e.customer_id),
m AS (
    SELECT cohort, count(*) AS size,
           count(*) FILTER (mask & 1 <> 0) AS a0, count(*) FILTER (mask & 2 <> 0) AS a1,
           count(*) FILTER (mask & 4 <> 0) AS a2, count(*) FILTER (mask & 8 <> 0) AS a3,
           count(*) FILTER (mask & 16 <> 0) AS a4, count(*) FILTER (mask & 32 <> 0) AS a5,
           count(*) FILTER (mask & 64 <> 0) AS a6, count(*) FILTER (mask & 128 <> 0) AS a7,
           count(*) FILTER (mask & 256 <> 0) AS a8, count(*) FILTER (mask & 512 <> 0) AS a9,
           count(*) FILTER (mask & 1024 <> 0) AS a10, count(*) FILTER (mask & 2048 <> 0) AS a11,
           count(*) FILTER (mask & 4096 <> 0) AS a12
    FROM starts LEFT JOIN masks USING (customer_id)
    GROUP BY cohort),
o AS (SELECT (epoch_us($now::TIMESTAMP) // 86400000000 + 3) // 7 - cohort AS seen, * FROM m)
SELECT strftime(DATE '1969-12-29' + 7 * cohort::INT, '%G-W%V') AS cohort, size,
       CASE WHEN seen > 0 THEN a0 END AS active0, CASE WHEN seen > 1 THEN a1 END AS active1,
       CASE WHEN seen > 2 THEN a2 END AS active2, CASE WHEN seen > 3 THEN a3 END AS active3,
       CASE WHEN seen > 4 THEN a4 END AS active4, CASE WHEN seen > 5 THEN a5 END AS active5,
       CASE WHEN seen > 6 THEN a6 END AS active6, CASE WHEN seen > 7 THEN a7 END AS active7,
       CASE WHEN seen > 8 THEN a8 END AS active8, CASE WHEN seen > 9 THEN a9 END AS active9,
       CASE WHEN seen > 10 THEN a10 END AS active10, CASE WHEN seen > 11 THEN a11 END AS active11,
       CASE WHEN seen > 12 THEN a12 END AS active12
FROM o ORDER BY o.cohort;

-- query: retention.distinct
-- The distinct (customer, period) pairs, counted per (cohort, period), then pivoted; the cohort
-- sizes counted apart.
WITH
starts AS (
    SELECT customer_id, (epoch_us(signup_at) // 86400000000 + 3) // 7 AS cohort
    FROM customers WHERE signup_at <= $now),
pairs AS (
    SELECT DISTINCT e.customer_id, cohort, ((epoch_us(ts) // 86400000000 + 3) // 7) - cohort AS k
    FROM events AS e JOIN starts AS s ON s.customer_id = e.customer_id
    WHERE name = 'login' AND ts <= $now
      AND ((epoch_us(ts) // 86400000000 + 3) // 7) - cohort BETWEEN 0 AND 12),
counts AS (
    SELECT cohort,
           count(*) FILTER (k = 0) AS a0, count(*) FILTER (k = 1) AS a1, count(*) FILTER (k = 2) AS a2,
           count(*) FILTER (k = 3) AS a3, count(*) FILTER (k = 4) AS a4, count(*) FILTER (k = 5) AS a5,
           count(*) FILTER (k = 6) AS a6, count(*) FILTER (k = 7) AS a7, count(*) FILTER (k = 8) AS a8,
           count(*) FILTER (k = 9) AS a9, count(*) FILTER (k = 10) AS a10,
           count(*) FILTER (k = 11) AS a11, count(*) FILTER (k = 12) AS a12
    FROM pairs GROUP BY cohort),
m AS (
    SELECT cohort, size, coalesce(a0, 0) AS a0, coalesce(a1, 0) AS a1, coalesce(a2, 0) AS a2,
           coalesce(a3, 0) AS a3, coalesce(a4, 0) AS a4, coalesce(a5, 0) AS a5, coalesce(a6, 0) AS a6,
           coalesce(a7, 0) AS a7, coalesce(a8, 0) AS a8, coalesce(a9, 0) AS a9,
           coalesce(a10, 0) AS a10, coalesce(a11, 0) AS a11, coalesce(a12, 0) AS a12
    FROM (SELECT cohort, count(*) AS size FROM starts GROUP BY cohort) LEFT JOIN counts USING (cohort)),
o AS (SELECT (epoch_us($now::TIMESTAMP) // 86400000000 + 3) // 7 - cohort AS seen, * FROM m)
SELECT strftime(DATE '1969-12-29' + 7 * cohort::INT, '%G-W%V') AS cohort, size,
       CASE WHEN seen > 0 THEN a0 END AS active0, CASE WHEN seen > 1 THEN a1 END AS active1,
       CASE WHEN seen > 2 THEN a2 END AS active2, CASE WHEN seen > 3 THEN a3 END AS active3,
       CASE WHEN seen > 4 THEN a4 END AS active4, CASE WHEN seen > 5 THEN a5 END AS active5,
       CASE WHEN seen > 6 THEN a6 END AS active6, CASE WHEN seen > 7 THEN a7 END AS active7,
       CASE WHEN seen > 8 THEN a8 END AS active8, CASE WHEN seen > 9 THEN a9 END AS active9,
       CASE WHEN seen > 10 THEN a10 END AS active10, CASE WHEN seen > 11 THEN a11 END AS active11,
       CASE WHEN seen > 12 THEN a12 END AS active12
FROM o ORDER BY o.cohort;

-- query: funnel.asof
-- The steps read in one scan; each next step of every attempt by an ASOF join (the first row of
-- the step strictly after the previous one), kept when within 14 days of the signup; the best
-- attempt per customer by arg_max over (reached, -signup time).
WITH
steps AS MATERIALIZED (
    SELECT customer_id AS k, ts AS t, name FROM events
    WHERE name IN ('signup', 'create_project', 'invite_teammate', 'upgrade') AND ts <= $now),
s2 AS (SELECT k, t FROM steps WHERE name = 'create_project'),
s3 AS (SELECT k, t FROM steps WHERE name = 'invite_teammate'),
s4 AS (SELECT k, t FROM steps WHERE name = 'upgrade'),
a1 AS (SELECT DISTINCT k, t AS t1 FROM steps WHERE name = 'signup'),
a2 AS (SELECT a1.k, t1, CASE WHEN s2.t <= t1 + INTERVAL 14 DAY THEN s2.t END AS t2
       FROM a1 ASOF LEFT JOIN s2 ON s2.k = a1.k AND s2.t > a1.t1),
a3 AS (SELECT a2.k, t1, t2, CASE WHEN t2 IS NOT NULL AND s3.t <= t1 + INTERVAL 14 DAY THEN s3.t END AS t3
       FROM a2 ASOF LEFT JOIN s3 ON s3.k = a2.k AND s3.t > a2.t2),
a4 AS (SELECT a3.k, t1, t2, t3, CASE WHEN t3 IS NOT NULL AND s4.t <= t1 + INTERVAL 14 DAY THEN s4.t END AS t4
       FROM a3 ASOF LEFT JOIN s4 ON s4.k = a3.k AND s4.t > a3.t3),
best AS (
    SELECT k, arg_max({'t1': t1, 't2': t2, 't3': t3, 't4': t4},
                      {'reached': (t2 IS NOT NULL)::INT + (t3 IS NOT NULL)::INT + (t4 IS NOT NULL)::INT,
                       'earliest': -epoch_us(t1)}) AS c
    FROM a4 GROUP BY k),
chains AS (SELECT c.t1, c.t2, c.t3, c.t4 FROM best WHERE k IN (SELECT customer_id FROM customers))
SELECT count(*) AS n1, count(t2) AS n2, count(t3) AS n3, count(t4) AS n4,
       quantile_cont(date_diff('microsecond', t1, t2) / 1e6, 0.5) AS q50_2,
       quantile_cont(date_diff('microsecond', t1, t2) / 1e6, 0.9) AS q90_2,
       quantile_cont(date_diff('microsecond', t2, t3) / 1e6, 0.5) AS q50_3,
       quantile_cont(date_diff('microsecond', t2, t3) / 1e6, 0.9) AS q90_3,
       quantile_cont(date_diff('microsecond', t3, t4) / 1e6, 0.5) AS q50_4,
       quantile_cont(date_diff('microsecond', t3, t4) / 1e6, 0.9) AS q90_4
FROM chains;

-- query: funnel.joins
-- The plugin's plan, with the steps read in one scan: per attempt, the earliest next-step row by
-- a range join on the customer and MIN, step after step; the best attempt by ROW_NUMBER.
WITH
steps AS MATERIALIZED (
    SELECT customer_id AS k, ts AS t, name FROM events
    WHERE name IN ('signup', 'create_project', 'invite_teammate', 'upgrade') AND ts <= $now),
a1 AS (SELECT DISTINCT k, t AS t1 FROM steps WHERE name = 'signup'),
a2 AS (SELECT a1.k, a1.t1, min(s.t) AS t2
       FROM a1 LEFT JOIN steps AS s ON s.k = a1.k AND s.name = 'create_project' AND s.t > a1.t1
                                    AND s.t <= a1.t1 + INTERVAL 14 DAY
       GROUP BY a1.k, a1.t1),
a3 AS (SELECT a2.k, a2.t1, a2.t2, min(s.t) AS t3
       FROM a2 LEFT JOIN steps AS s ON s.k = a2.k AND s.name = 'invite_teammate' AND s.t > a2.t2
                                    AND s.t <= a2.t1 + INTERVAL 14 DAY
       GROUP BY a2.k, a2.t1, a2.t2),
a4 AS (SELECT a3.k, a3.t1, a3.t2, a3.t3, min(s.t) AS t4
       FROM a3 LEFT JOIN steps AS s ON s.k = a3.k AND s.name = 'upgrade' AND s.t > a3.t3
                                    AND s.t <= a3.t1 + INTERVAL 14 DAY
       GROUP BY a3.k, a3.t1, a3.t2, a3.t3),
chains AS (
    SELECT * FROM a4 WHERE k IN (SELECT customer_id FROM customers)
    QUALIFY row_number() OVER (PARTITION BY k ORDER BY (t2 IS NOT NULL)::INT + (t3 IS NOT NULL)::INT
                                                        + (t4 IS NOT NULL)::INT DESC, t1) = 1)
SELECT count(*) AS n1, count(t2) AS n2, count(t3) AS n3, count(t4) AS n4,
       quantile_cont(date_diff('microsecond', t1, t2) / 1e6, 0.5) AS q50_2,
       quantile_cont(date_diff('microsecond', t1, t2) / 1e6, 0.9) AS q90_2,
       quantile_cont(date_diff('microsecond', t2, t3) / 1e6, 0.5) AS q50_3,
       quantile_cont(date_diff('microsecond', t2, t3) / 1e6, 0.9) AS q90_3,
       quantile_cont(date_diff('microsecond', t3, t4) / 1e6, 0.5) AS q50_4,
       quantile_cont(date_diff('microsecond', t3, t4) / 1e6, 0.9) AS q90_4
FROM chains;

-- query: funnel.levels
-- As funnel.joins, but the best attempt by one aggregation instead of a window: per number of
-- steps reached r, the earliest times over the attempts reaching exactly r (a greedy chain is
-- monotone in its start, so these are the earliest such attempt's times); the highest r wins.
WITH
steps AS MATERIALIZED (
    SELECT customer_id AS k, ts AS t, name FROM events
    WHERE name IN ('signup', 'create_project', 'invite_teammate', 'upgrade') AND ts <= $now),
a1 AS (SELECT DISTINCT k, t AS t1 FROM steps WHERE name = 'signup'),
a2 AS (SELECT a1.k, a1.t1, min(s.t) AS t2
       FROM a1 LEFT JOIN steps AS s ON s.k = a1.k AND s.name = 'create_project' AND s.t > a1.t1
                                    AND s.t <= a1.t1 + INTERVAL 14 DAY
       GROUP BY a1.k, a1.t1),
a3 AS (SELECT a2.k, a2.t1, a2.t2, min(s.t) AS t3
       FROM a2 LEFT JOIN steps AS s ON s.k = a2.k AND s.name = 'invite_teammate' AND s.t > a2.t2
                                    AND s.t <= a2.t1 + INTERVAL 14 DAY
       GROUP BY a2.k, a2.t1, a2.t2),
a4 AS (SELECT a3.k, a3.t1, a3.t2, a3.t3, min(s.t) AS t4,
              1 + (a3.t2 IS NOT NULL)::INT + (a3.t3 IS NOT NULL)::INT + (min(s.t) IS NOT NULL)::INT AS r
       FROM a3 LEFT JOIN steps AS s ON s.k = a3.k AND s.name = 'upgrade' AND s.t > a3.t3
                                    AND s.t <= a3.t1 + INTERVAL 14 DAY
       GROUP BY a3.k, a3.t1, a3.t2, a3.t3),
levels AS (
    SELECT k, max(r) AS r,
           min(t1) FILTER (r = 1) AS t1_1,
           min(t1) FILTER (r = 2) AS t1_2, min(t2) FILTER (r = 2) AS t2_2,
           min(t1) FILTER (r = 3) AS t1_3, min(t2) FILTER (r = 3) AS t2_3, min(t3) FILTER (r = 3) AS t3_3,
           min(t1) FILTER (r = 4) AS t1_4, min(t2) FILTER (r = 4) AS t2_4, min(t3) FILTER (r = 4) AS t3_4,
           min(t4) FILTER (r = 4) AS t4_4
    FROM a4 WHERE k IN (SELECT customer_id FROM customers) GROUP BY k),
chains AS (
    SELECT CASE r WHEN 4 THEN t1_4 WHEN 3 THEN t1_3 WHEN 2 THEN t1_2 ELSE t1_1 END AS t1,
           CASE r WHEN 4 THEN t2_4 WHEN 3 THEN t2_3 WHEN 2 THEN t2_2 END AS t2,
           CASE r WHEN 4 THEN t3_4 WHEN 3 THEN t3_3 END AS t3,
           t4_4 AS t4
    FROM levels)
SELECT count(*) AS n1, count(t2) AS n2, count(t3) AS n3, count(t4) AS n4,
       quantile_cont(date_diff('microsecond', t1, t2) / 1e6, 0.5) AS q50_2,
       quantile_cont(date_diff('microsecond', t1, t2) / 1e6, 0.9) AS q90_2,
       quantile_cont(date_diff('microsecond', t2, t3) / 1e6, 0.5) AS q50_3,
       quantile_cont(date_diff('microsecond', t2, t3) / 1e6, 0.9) AS q90_3,
       quantile_cont(date_diff('microsecond', t3, t4) / 1e6, 0.5) AS q50_4,
       quantile_cont(date_diff('microsecond', t3, t4) / 1e6, 0.9) AS q90_4
FROM chains;
