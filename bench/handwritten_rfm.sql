-- The RFM of segment_specs/ecommerce.yaml's rfm: block, written by hand as the best single DuckDB
-- query: paid orders of the last 365 days, quantile scores over 5 bins (ties share a score:
-- score = 1 + floor(5 * below / N), below = the buyers with a strictly worse value), the default
-- 11-label map, every customer (no purchase: null scores, label 'No purchases').
-- $now is a bound TIMESTAMP parameter (the as-of time).
WITH
per AS (
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
    -- score and label of (r, f, m): element (r-1)*25 + (f-1)*5 + m of a constant list (1-based),
    -- the default map spelled out for each of the 125 combinations (a lookup, not 11 CASE branches)
    [
        '111', '112', '113', '114', '115', '121', '122', '123', '124', '125', '131', '132', '133', '134', '135', '141', '142', '143', '144', '145', '151', '152', '153', '154', '155',
        '211', '212', '213', '214', '215', '221', '222', '223', '224', '225', '231', '232', '233', '234', '235', '241', '242', '243', '244', '245', '251', '252', '253', '254', '255',
        '311', '312', '313', '314', '315', '321', '322', '323', '324', '325', '331', '332', '333', '334', '335', '341', '342', '343', '344', '345', '351', '352', '353', '354', '355',
        '411', '412', '413', '414', '415', '421', '422', '423', '424', '425', '431', '432', '433', '434', '435', '441', '442', '443', '444', '445', '451', '452', '453', '454', '455',
        '511', '512', '513', '514', '515', '521', '522', '523', '524', '525', '531', '532', '533', '534', '535', '541', '542', '543', '544', '545', '551', '552', '553', '554', '555'][(s.r - 1) * 25 + (s.f - 1) * 5 + s.m] AS score,
    coalesce([
        'Lost', 'Lost', 'Lost', 'Lost', 'At Risk',
        'Lost', 'Lost', 'Lost', 'At Risk', 'At Risk',
        'Lost', 'Lost', 'At Risk', 'At Risk', 'Can''t Lose Them',
        'Lost', 'At Risk', 'At Risk', 'Can''t Lose Them', 'Can''t Lose Them',
        'At Risk', 'At Risk', 'Can''t Lose Them', 'Can''t Lose Them', 'Can''t Lose Them',
        'Hibernating', 'Hibernating', 'Hibernating', 'Hibernating', 'At Risk',
        'Hibernating', 'Hibernating', 'Hibernating', 'At Risk', 'At Risk',
        'Hibernating', 'Hibernating', 'At Risk', 'At Risk', 'At Risk',
        'Hibernating', 'At Risk', 'At Risk', 'At Risk', 'At Risk',
        'At Risk', 'At Risk', 'At Risk', 'At Risk', 'At Risk',
        'About To Sleep', 'About To Sleep', 'Need Attention', 'Need Attention', 'Loyal Customers',
        'About To Sleep', 'Need Attention', 'Need Attention', 'Loyal Customers', 'Loyal Customers',
        'Need Attention', 'Need Attention', 'Loyal Customers', 'Loyal Customers', 'Loyal Customers',
        'Need Attention', 'Loyal Customers', 'Loyal Customers', 'Loyal Customers', 'Loyal Customers',
        'Loyal Customers', 'Loyal Customers', 'Loyal Customers', 'Loyal Customers', 'Loyal Customers',
        'Promising', 'Promising', 'Potential Loyalist', 'Potential Loyalist', 'Loyal Customers',
        'Promising', 'Potential Loyalist', 'Potential Loyalist', 'Loyal Customers', 'Loyal Customers',
        'Potential Loyalist', 'Potential Loyalist', 'Loyal Customers', 'Loyal Customers', 'Champions',
        'Potential Loyalist', 'Loyal Customers', 'Loyal Customers', 'Champions', 'Champions',
        'Loyal Customers', 'Loyal Customers', 'Champions', 'Champions', 'Champions',
        'New Customers', 'New Customers', 'Potential Loyalist', 'Potential Loyalist', 'Loyal Customers',
        'New Customers', 'Potential Loyalist', 'Potential Loyalist', 'Loyal Customers', 'Loyal Customers',
        'Potential Loyalist', 'Potential Loyalist', 'Loyal Customers', 'Loyal Customers', 'Champions',
        'Potential Loyalist', 'Loyal Customers', 'Loyal Customers', 'Champions', 'Champions',
        'Loyal Customers', 'Loyal Customers', 'Champions', 'Champions', 'Champions'][(s.r - 1) * 25 + (s.f - 1) * 5 + s.m], 'No purchases') AS label
FROM customers AS c
LEFT JOIN scored AS s USING (customer_id)
