-- The RFM of segment_specs/ecommerce.yaml's rfm: block, written by hand as the best single DuckDB
-- query: paid orders of the last 365 days, quantile scores over 5 bins (ties share a score:
-- score = 1 + floor(5 * below / N), below = the buyers with a strictly worse value), the default
-- 11-label map, every customer (no purchase: null scores, label 'No purchases').
-- $now is a bound TIMESTAMP parameter (the as-of time).
WITH
per AS MATERIALIZED (
    SELECT
        customer_id,
        floor((epoch_us($now) - epoch_us(max(ordered_at))) / 86400e6)::BIGINT AS recency_days,
        count(*) AS frequency,
        sum(amount)::DOUBLE AS monetary
    FROM orders
    WHERE ordered_at <= $now AND ordered_at > $now - INTERVAL 365 DAY AND status = 'paid'
          AND customer_id IS NOT NULL
    GROUP BY customer_id
),
-- per letter, the worst value that still reaches score s (s = 2..5): a value scores
-- 1 + the number of cuts it reaches
r_cut AS (
    SELECT max(v) FILTER (s >= 2) AS c2, max(v) FILTER (s >= 3) AS c3,
           max(v) FILTER (s >= 4) AS c4, max(v) FILTER (s >= 5) AS c5
    FROM (SELECT v, floor(5 * (sum(c) OVER (ORDER BY v DESC) - c) / sum(c) OVER ()) + 1 AS s
          FROM (SELECT recency_days AS v, count(*) AS c FROM per GROUP BY ALL))
),
f_cut AS (
    SELECT min(v) FILTER (s >= 2) AS c2, min(v) FILTER (s >= 3) AS c3,
           min(v) FILTER (s >= 4) AS c4, min(v) FILTER (s >= 5) AS c5
    FROM (SELECT v, floor(5 * (sum(c) OVER (ORDER BY v) - c) / sum(c) OVER ()) + 1 AS s
          FROM (SELECT frequency AS v, count(*) AS c FROM per GROUP BY ALL))
),
m_cut AS (
    SELECT min(v) FILTER (s >= 2) AS c2, min(v) FILTER (s >= 3) AS c3,
           min(v) FILTER (s >= 4) AS c4, min(v) FILTER (s >= 5) AS c5
    FROM (SELECT v, floor(5 * (sum(c) OVER (ORDER BY v) - c) / sum(c) OVER ()) + 1 AS s
          FROM (SELECT monetary AS v, count(*) AS c FROM per GROUP BY ALL))
),
scored AS (
    SELECT
        per.*,
        1 + coalesce((recency_days <= r.c2)::INT, 0) + coalesce((recency_days <= r.c3)::INT, 0)
          + coalesce((recency_days <= r.c4)::INT, 0) + coalesce((recency_days <= r.c5)::INT, 0) AS r,
        1 + coalesce((frequency >= f.c2)::INT, 0) + coalesce((frequency >= f.c3)::INT, 0)
          + coalesce((frequency >= f.c4)::INT, 0) + coalesce((frequency >= f.c5)::INT, 0) AS f,
        1 + coalesce((monetary >= m.c2)::INT, 0) + coalesce((monetary >= m.c3)::INT, 0)
          + coalesce((monetary >= m.c4)::INT, 0) + coalesce((monetary >= m.c5)::INT, 0) AS m
    FROM per, r_cut AS r, f_cut AS f, m_cut AS m
)
SELECT
    c.customer_id,
    s.recency_days,
    coalesce(s.frequency, 0) AS frequency,
    coalesce(s.monetary, 0) AS monetary,
    s.r, s.f, s.m,
    s.r::VARCHAR || s.f::VARCHAR || s.m::VARCHAR AS score,
    CASE
        WHEN s.r IS NULL THEN 'No purchases'
        WHEN s.r >= 4 AND s.f + s.m >= 8 THEN 'Champions'
        WHEN (s.r >= 3 AND s.f + s.m BETWEEN 6 AND 7) OR (s.r = 3 AND s.f + s.m >= 8) THEN 'Loyal Customers'
        WHEN s.r >= 4 AND s.f + s.m BETWEEN 4 AND 5 THEN 'Potential Loyalist'
        WHEN s.r = 5 AND s.f + s.m <= 3 THEN 'New Customers'
        WHEN s.r = 4 AND s.f + s.m <= 3 THEN 'Promising'
        WHEN s.r = 3 AND s.f + s.m BETWEEN 4 AND 5 THEN 'Need Attention'
        WHEN s.r = 3 AND s.f + s.m <= 3 THEN 'About To Sleep'
        WHEN (s.r = 2 AND s.f + s.m >= 6) OR (s.r = 1 AND s.f + s.m BETWEEN 6 AND 7) THEN 'At Risk'
        WHEN s.r = 1 AND s.f + s.m >= 8 THEN 'Can''t Lose Them'
        WHEN s.r = 2 AND s.f + s.m <= 5 THEN 'Hibernating'
        ELSE 'Lost'
    END AS label
FROM customers AS c
LEFT JOIN scored AS s USING (customer_id)
