-- The 50 segments of segment_specs/bench_50.yaml the naive way: one query per segment, each
-- scanning the sources it needs with its own window in WHERE, as an analyst would write them.
-- Every statement returns that segment's member count.  $now is a bound TIMESTAMP parameter.
-- `-- segment: NAME` before each statement names it (bench/run_core.py splits on it).

-- segment: new_customers
SELECT count(*) FROM customers WHERE signup_at >= $now - INTERVAL 30 DAY;

-- segment: signed_up_this_month
SELECT count(*) FROM customers WHERE signup_at >= date_trunc('month', $now::TIMESTAMP);

-- segment: anniversary_week
SELECT count(*) FROM customers
WHERE abs(floor((epoch_us($now) - epoch_us(signup_at)) / 86400e6) - 365) <= 3;

-- segment: never_purchased
SELECT count(*) FROM customers c
WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.customer_id
                  AND o.status = 'paid' AND o.ordered_at <= $now);

-- segment: first_time_buyers
SELECT count(*) FROM (
    SELECT customer_id FROM orders WHERE status = 'paid' AND ordered_at <= $now
    GROUP BY customer_id
    HAVING count(*) = 1 AND floor((epoch_us($now) - epoch_us(min(ordered_at))) / 86400e6) <= 30);

-- segment: repeat_buyers
SELECT count(*) FROM (
    SELECT customer_id FROM orders WHERE status = 'paid' AND ordered_at <= $now
    GROUP BY customer_id HAVING count(*) >= 2);

-- segment: loyal
SELECT count(*) FROM (
    SELECT customer_id FROM orders
    WHERE status = 'paid' AND ordered_at > $now - INTERVAL 365 DAY AND ordered_at <= $now
    GROUP BY customer_id HAVING count(*) >= 6);

-- segment: recent_buyers
SELECT count(DISTINCT customer_id) FROM orders
WHERE status = 'paid' AND ordered_at > $now - INTERVAL 30 DAY AND ordered_at <= $now;

-- segment: lapsed
SELECT count(*) FROM customers c LEFT JOIN (
    SELECT customer_id, max(ordered_at) AS last_order_at FROM orders
    WHERE status = 'paid' AND ordered_at <= $now GROUP BY customer_id) o USING (customer_id)
WHERE o.last_order_at IS NULL OR floor((epoch_us($now) - epoch_us(o.last_order_at)) / 86400e6) > 90;

-- segment: churn_risk
SELECT count(*) FROM (
    SELECT customer_id FROM orders WHERE status = 'paid' AND ordered_at <= $now
    GROUP BY customer_id
    HAVING count(*) >= 3
       AND floor((epoch_us($now) - epoch_us(max(ordered_at))) / 86400e6) BETWEEN 60 AND 120);

-- segment: winback
SELECT count(*) FROM customers c LEFT JOIN (
    SELECT customer_id, max(ordered_at) AS last_order_at, sum(amount) AS ltv FROM orders
    WHERE status = 'paid' AND ordered_at <= $now GROUP BY customer_id) o USING (customer_id)
WHERE (o.last_order_at IS NULL OR floor((epoch_us($now) - epoch_us(o.last_order_at)) / 86400e6) > 90)
  AND coalesce(o.ltv, 0) >= 200 AND c.marketing_opt_in;

-- segment: reactivated
SELECT count(*) FROM (
    SELECT customer_id FROM orders WHERE status = 'paid' AND ordered_at <= $now
    GROUP BY customer_id
    HAVING count(*) >= 2
       AND count(*) FILTER (ordered_at > $now - INTERVAL 14 DAY) >= 1
       AND count(*) FILTER (ordered_at <= $now - INTERVAL 14 DAY
                            AND ordered_at > $now - INTERVAL 114 DAY) = 0);

-- segment: big_spenders
SELECT count(*) FROM (
    SELECT customer_id FROM orders
    WHERE status = 'paid' AND ordered_at > $now - INTERVAL 90 DAY AND ordered_at <= $now
    GROUP BY customer_id HAVING sum(amount) > 500);

-- segment: whales
SELECT count(*) FROM (
    SELECT customer_id FROM orders WHERE status = 'paid' AND ordered_at <= $now
    GROUP BY customer_id HAVING sum(amount) >= 2000);

-- segment: high_aov
SELECT count(*) FROM (
    SELECT customer_id FROM orders WHERE status = 'paid' AND ordered_at <= $now
    GROUP BY customer_id HAVING avg(amount) >= 150);

-- segment: bargain_hunters
SELECT count(*) FROM (
    SELECT customer_id FROM orders WHERE status = 'paid' AND ordered_at <= $now
    GROUP BY customer_id
    HAVING round(avg(amount)) < 25 AND count(*) FILTER (ordered_at > $now - INTERVAL 90 DAY) >= 3);

-- segment: big_ticket_recent
SELECT count(DISTINCT customer_id) FROM orders
WHERE status = 'paid' AND amount >= 400 AND ordered_at > $now - INTERVAL 60 DAY AND ordered_at <= $now;

-- segment: small_basket
SELECT count(DISTINCT customer_id) FROM orders
WHERE status = 'paid' AND amount < 10 AND ordered_at > $now - INTERVAL 180 DAY AND ordered_at <= $now;

-- segment: accelerating
SELECT count(*) FROM (
    SELECT customer_id FROM orders
    WHERE ordered_at > $now - INTERVAL 60 DAY AND ordered_at <= $now
    GROUP BY customer_id
    HAVING count(*) FILTER (ordered_at > $now - INTERVAL 30 DAY)
         > count(*) FILTER (ordered_at <= $now - INTERVAL 30 DAY));

-- segment: spend_dropping
SELECT count(*) FROM (
    SELECT customer_id FROM orders
    WHERE status = 'paid' AND ordered_at > $now - INTERVAL 180 DAY AND ordered_at <= $now
    GROUP BY customer_id
    HAVING coalesce(sum(amount) FILTER (ordered_at > $now - INTERVAL 90 DAY), 0) * 2
         < coalesce(sum(amount) FILTER (ordered_at <= $now - INTERVAL 90 DAY), 0));

-- segment: holiday_shoppers
SELECT count(*) FROM (
    SELECT customer_id FROM orders
    WHERE ordered_at >= $now - INTERVAL 400 DAY AND ordered_at <= $now - INTERVAL 330 DAY
    GROUP BY customer_id HAVING sum(amount) >= 150);

-- segment: vip_not_browsing
SELECT count(*) FROM (
    SELECT customer_id FROM orders
    WHERE status = 'paid' AND ordered_at > $now - INTERVAL 90 DAY AND ordered_at <= $now
    GROUP BY customer_id HAVING sum(amount) > 500) vip
WHERE customer_id NOT IN (
    SELECT customer_id FROM events
    WHERE name = 'product_view' AND ts > $now - INTERVAL 30 DAY AND ts <= $now
    GROUP BY customer_id HAVING count(*) >= 5);

-- segment: upgrade_candidates
SELECT count(*) FROM customers c JOIN (
    SELECT customer_id, sum(amount) AS spend_90d FROM orders
    WHERE status = 'paid' AND ordered_at > $now - INTERVAL 90 DAY AND ordered_at <= $now
    GROUP BY customer_id) o USING (customer_id)
WHERE c.plan IN ('free', 'basic') AND o.spend_90d >= 200;

-- segment: refund_prone
SELECT count(*) FROM (
    SELECT customer_id FROM orders
    WHERE status = 'refunded' AND ordered_at > $now - INTERVAL 180 DAY AND ordered_at <= $now
    GROUP BY customer_id HAVING count(*) >= 2);

-- segment: high_refund_share
SELECT count(*) FROM (
    SELECT customer_id FROM orders WHERE ordered_at <= $now
    GROUP BY customer_id
    HAVING count(*) FILTER (status = 'refunded') * 4 >= count(*) AND count(*) >= 3);

-- segment: cancel_heavy
SELECT count(*) FROM (
    SELECT customer_id FROM orders
    WHERE status = 'cancelled' AND ordered_at > $now - INTERVAL 365 DAY AND ordered_at <= $now
    GROUP BY customer_id HAVING count(*) >= 2);

-- segment: pending_payment
SELECT count(DISTINCT customer_id) FROM orders
WHERE status = 'pending' AND ordered_at > $now - INTERVAL 3 DAY AND ordered_at <= $now;

-- segment: last_order_refunded
SELECT count(*) FROM (
    SELECT customer_id FROM orders WHERE ordered_at <= $now
    GROUP BY customer_id HAVING arg_max(status, ordered_at) = 'refunded');

-- segment: frequent_browsers
SELECT count(*) FROM (
    SELECT customer_id FROM events
    WHERE name = 'product_view' AND ts > $now - INTERVAL 30 DAY AND ts <= $now
    GROUP BY customer_id HAVING count(*) >= 5);

-- segment: window_shoppers
SELECT count(*) FROM (
    SELECT customer_id FROM events
    WHERE name = 'product_view' AND ts > $now - INTERVAL 30 DAY AND ts <= $now
    GROUP BY customer_id HAVING count(*) >= 10) v
WHERE customer_id NOT IN (
    SELECT customer_id FROM orders
    WHERE status = 'paid' AND ordered_at > $now - INTERVAL 90 DAY AND ordered_at <= $now);

-- segment: cart_abandoners
SELECT count(DISTINCT customer_id) FROM events
WHERE name = 'add_to_cart' AND ts > $now - INTERVAL 7 DAY AND ts <= $now
  AND customer_id NOT IN (
      SELECT customer_id FROM orders WHERE ordered_at > $now - INTERVAL 7 DAY AND ordered_at <= $now);

-- segment: checkout_abandoners
SELECT count(DISTINCT customer_id) FROM events
WHERE name = 'checkout_start' AND ts > $now - INTERVAL 3 DAY AND ts <= $now
  AND customer_id NOT IN (
      SELECT customer_id FROM orders
      WHERE status IN ('paid', 'pending') AND ordered_at > $now - INTERVAL 3 DAY AND ordered_at <= $now);

-- segment: searchers
SELECT count(*) FROM (
    SELECT customer_id FROM events
    WHERE name = 'search' AND ts > $now - INTERVAL 14 DAY AND ts <= $now
    GROUP BY customer_id HAVING count(*) >= 3);

-- segment: power_users
SELECT count(*) FROM (
    SELECT customer_id FROM events WHERE ts > $now - INTERVAL 7 DAY AND ts <= $now
    GROUP BY customer_id HAVING count(*) >= 50);

-- segment: diverse_browsing
SELECT count(*) FROM (
    SELECT customer_id FROM events WHERE ts > $now - INTERVAL 30 DAY AND ts <= $now
    GROUP BY customer_id HAVING count(DISTINCT name) >= 5);

-- segment: logins_without_purchase
SELECT count(*) FROM (
    SELECT customer_id FROM events
    WHERE name = 'login' AND ts > $now - INTERVAL 7 DAY AND ts <= $now
    GROUP BY customer_id HAVING count(*) >= 3) l
WHERE customer_id NOT IN (
    SELECT customer_id FROM orders WHERE ordered_at > $now - INTERVAL 30 DAY AND ordered_at <= $now);

-- segment: active_7d
SELECT count(*) FROM (
    SELECT customer_id FROM events WHERE ts <= $now
    GROUP BY customer_id HAVING floor((epoch_us($now) - epoch_us(max(ts))) / 3600e6) < 168);

-- segment: dormant
SELECT count(*) FROM (
    SELECT customer_id FROM events WHERE ts <= $now
    GROUP BY customer_id HAVING floor((epoch_us($now) - epoch_us(max(ts))) / 86400e6) >= 60);

-- segment: came_in_via_search
SELECT count(*) FROM (
    SELECT customer_id FROM events WHERE ts > $now - INTERVAL 30 DAY AND ts <= $now
    GROUP BY customer_id HAVING arg_min(name, ts) = 'search');

-- segment: engaged_free_users
SELECT count(*) FROM customers c JOIN (
    SELECT customer_id FROM events WHERE ts > $now - INTERVAL 30 DAY AND ts <= $now
    GROUP BY customer_id HAVING count(*) >= 20) e USING (customer_id)
WHERE c.plan = 'free';

-- segment: enterprise_at_risk
SELECT count(*) FROM customers c LEFT JOIN (
    SELECT customer_id, max(ts) AS last_seen_at FROM events WHERE ts <= $now
    GROUP BY customer_id) e USING (customer_id)
WHERE c.plan = 'enterprise'
  AND (e.last_seen_at IS NULL OR floor((epoch_us($now) - epoch_us(e.last_seen_at)) / 86400e6) > 30);

-- segment: browsers_not_buyers
SELECT count(*) FROM (
    SELECT customer_id FROM events
    WHERE name IN ('product_view', 'search') AND ts > $now - INTERVAL 30 DAY AND ts <= $now
    GROUP BY customer_id
    HAVING greatest(count(*) FILTER (name = 'product_view'), count(*) FILTER (name = 'search')) >= 8) b
LEFT JOIN (
    SELECT customer_id, avg(amount) AS aov FROM orders WHERE status = 'paid' AND ordered_at <= $now
    GROUP BY customer_id) o USING (customer_id)
WHERE coalesce(o.aov, 0) < 50;

-- segment: eu_gmail
SELECT count(*) FROM customers
WHERE country IN ('DE', 'FR', 'ES') AND lower(email) LIKE '%@gmail.com';

-- segment: dach_opt_in
SELECT count(*) FROM customers WHERE country IN ('DE', 'AT', 'CH') AND marketing_opt_in;

-- segment: unknown_country
SELECT count(*) FROM customers WHERE country IS NULL;

-- segment: corporate_email
SELECT count(*) FROM customers
WHERE email IS NOT NULL
  AND lower(email) NOT LIKE '%@gmail.com' AND lower(email) NOT LIKE '%@yahoo.com'
  AND lower(email) NOT LIKE '%@outlook.com' AND lower(email) NOT LIKE '%@hotmail.com'
  AND lower(email) NOT LIKE '%@icloud.com' AND email NOT LIKE '%@gmx.%'
  AND upper(trim(email, ' ' || chr(9) || chr(10) || chr(13) || chr(11) || chr(12))) NOT LIKE 'TEST+%';

-- segment: shouty_email
SELECT count(*) FROM customers WHERE email <> lower(email);

-- segment: test_accounts
SELECT count(*) FROM customers
WHERE regexp_matches(email, '^test[+][0-9]+@') OR email LIKE '%@example.org';

-- segment: young_adults
SELECT count(*) FROM customers
WHERE floor((epoch_us($now) - epoch_us(birth_date::TIMESTAMP)) / 86400e6) < 9131
  AND length(trim(email, ' ' || chr(9) || chr(10) || chr(13) || chr(11) || chr(12))) > 0;

-- segment: reachable
SELECT count(*) FROM customers c
WHERE c.marketing_opt_in AND c.email IS NOT NULL
  AND NOT (regexp_matches(c.email, '^test[+][0-9]+@') OR c.email LIKE '%@example.org')
  AND c.customer_id IN (
      SELECT customer_id FROM orders WHERE status = 'paid' AND ordered_at <= $now
      GROUP BY customer_id
      HAVING floor((epoch_us($now) - epoch_us(max(ordered_at))) / 86400e6) <= 90);
