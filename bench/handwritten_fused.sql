-- The 50 segments of segment_specs/bench_50.yaml, written by hand as the best single DuckDB query:
-- one GROUP BY per source with every aggregate as a FILTER aggregate, left-joined to customers,
-- one boolean per segment, counted.  $now is a bound TIMESTAMP parameter (the as-of time).
-- Semantics as in docs/language.md: `within D` is now - D < t <= now; source rows after now are
-- ignored; count/sum over no rows are 0, other aggregates NULL; NULL is not a match;
-- days_since(x) = floor((now - x) in seconds / 86400); trim() strips whitespace (space, \t \n \r \v \f).
WITH
o AS (
    SELECT
        customer_id,
        sum(amount) FILTER (status = 'paid') AS ltv,
        count(*) FILTER (status = 'paid') AS paid_orders,
        count(*) FILTER (status = 'paid' AND ordered_at > $now - INTERVAL 90 DAY) AS paid_orders_90d,
        sum(amount) FILTER (status = 'paid' AND ordered_at > $now - INTERVAL 90 DAY) AS spend_90d,
        avg(amount) FILTER (status = 'paid') AS avg_order_value,
        min(ordered_at) FILTER (status = 'paid') AS first_order_at,
        max(ordered_at) FILTER (status = 'paid') AS last_order_at,
        count(*) FILTER (status = 'paid' AND ordered_at > $now - INTERVAL 365 DAY) AS paid_365d,
        count(*) FILTER (status = 'paid' AND ordered_at > $now - INTERVAL 30 DAY) AS paid_30d,
        count(*) FILTER (status = 'paid' AND ordered_at > $now - INTERVAL 14 DAY) AS paid_14d,
        count(*) FILTER (status = 'paid' AND ordered_at <= $now - INTERVAL 14 DAY
                         AND ordered_at > $now - INTERVAL 114 DAY) AS paid_quiet_before_14d,
        max(amount) FILTER (status = 'paid' AND ordered_at > $now - INTERVAL 60 DAY) AS max_paid_60d,
        min(amount) FILTER (status = 'paid' AND ordered_at > $now - INTERVAL 180 DAY) AS min_paid_180d,
        count(*) FILTER (ordered_at > $now - INTERVAL 30 DAY) AS orders_30d,
        count(*) FILTER (ordered_at <= $now - INTERVAL 30 DAY
                         AND ordered_at > $now - INTERVAL 60 DAY) AS orders_prev_30d,
        sum(amount) FILTER (status = 'paid' AND ordered_at <= $now - INTERVAL 90 DAY
                            AND ordered_at > $now - INTERVAL 180 DAY) AS spend_prev_90d,
        sum(amount) FILTER (ordered_at >= $now - INTERVAL 400 DAY
                            AND ordered_at <= $now - INTERVAL 330 DAY) AS holiday_spend,
        count(*) FILTER (status = 'refunded' AND ordered_at > $now - INTERVAL 180 DAY) AS refunded_180d,
        count(*) FILTER (status = 'refunded') AS refunded,
        count(*) AS orders,
        count(*) FILTER (status = 'cancelled' AND ordered_at > $now - INTERVAL 365 DAY) AS cancelled_365d,
        count(*) FILTER (status = 'pending' AND ordered_at > $now - INTERVAL 3 DAY) AS pending_3d,
        arg_max(status, ordered_at) AS last_status,
        count(*) FILTER (ordered_at > $now - INTERVAL 7 DAY) AS orders_7d,
        count(*) FILTER (status IN ('paid', 'pending') AND ordered_at > $now - INTERVAL 3 DAY) AS paid_or_pending_3d
    FROM orders
    WHERE ordered_at <= $now
    GROUP BY customer_id
),
e AS (
    SELECT
        customer_id,
        count(*) FILTER (name = 'product_view' AND ts > $now - INTERVAL 30 DAY) AS product_views_30d,
        count(*) FILTER (ts > $now - INTERVAL 30 DAY) AS events_30d,
        max(ts) AS last_seen_at,
        count(*) FILTER (name = 'add_to_cart' AND ts > $now - INTERVAL 7 DAY) AS add_to_cart_7d,
        count(*) FILTER (name = 'checkout_start' AND ts > $now - INTERVAL 3 DAY) AS checkout_start_3d,
        count(*) FILTER (name = 'search' AND ts > $now - INTERVAL 14 DAY) AS searches_14d,
        count(*) FILTER (name = 'search' AND ts > $now - INTERVAL 30 DAY) AS searches_30d,
        count(*) FILTER (ts > $now - INTERVAL 7 DAY) AS events_7d,
        count(DISTINCT name) FILTER (ts > $now - INTERVAL 30 DAY) AS event_kinds_30d,
        count(*) FILTER (name = 'login' AND ts > $now - INTERVAL 7 DAY) AS logins_7d,
        arg_min(name, ts) FILTER (ts > $now - INTERVAL 30 DAY) AS first_event_30d
    FROM events
    WHERE ts <= $now
    GROUP BY customer_id
),
wide AS (
    SELECT
        c.*,
        coalesce(o.ltv, 0) AS ltv,
        coalesce(o.paid_orders, 0) AS paid_orders,
        coalesce(o.paid_orders_90d, 0) AS paid_orders_90d,
        coalesce(o.spend_90d, 0) AS spend_90d,
        o.avg_order_value, o.first_order_at, o.last_order_at,
        coalesce(o.paid_365d, 0) AS paid_365d,
        coalesce(o.paid_30d, 0) AS paid_30d,
        coalesce(o.paid_14d, 0) AS paid_14d,
        coalesce(o.paid_quiet_before_14d, 0) AS paid_quiet_before_14d,
        o.max_paid_60d, o.min_paid_180d,
        coalesce(o.orders_30d, 0) AS orders_30d,
        coalesce(o.orders_prev_30d, 0) AS orders_prev_30d,
        coalesce(o.spend_prev_90d, 0) AS spend_prev_90d,
        coalesce(o.holiday_spend, 0) AS holiday_spend,
        coalesce(o.refunded_180d, 0) AS refunded_180d,
        coalesce(o.refunded, 0) AS refunded,
        coalesce(o.orders, 0) AS orders,
        coalesce(o.cancelled_365d, 0) AS cancelled_365d,
        coalesce(o.pending_3d, 0) AS pending_3d,
        o.last_status,
        coalesce(o.orders_7d, 0) AS orders_7d,
        coalesce(o.paid_or_pending_3d, 0) AS paid_or_pending_3d,
        coalesce(e.product_views_30d, 0) AS product_views_30d,
        coalesce(e.events_30d, 0) AS events_30d,
        e.last_seen_at,
        coalesce(e.add_to_cart_7d, 0) AS add_to_cart_7d,
        coalesce(e.checkout_start_3d, 0) AS checkout_start_3d,
        coalesce(e.searches_14d, 0) AS searches_14d,
        coalesce(e.searches_30d, 0) AS searches_30d,
        coalesce(e.events_7d, 0) AS events_7d,
        coalesce(e.event_kinds_30d, 0) AS event_kinds_30d,
        coalesce(e.logins_7d, 0) AS logins_7d,
        e.first_event_30d,
        -- days_since / hours_since, exact to the microsecond
        floor((epoch_us($now) - epoch_us(c.signup_at)) / 86400e6) AS signup_days,
        floor((epoch_us($now) - epoch_us(o.first_order_at)) / 86400e6) AS first_order_days,
        floor((epoch_us($now) - epoch_us(o.last_order_at)) / 86400e6) AS last_order_days,
        floor((epoch_us($now) - epoch_us(e.last_seen_at)) / 86400e6) AS last_seen_days,
        floor((epoch_us($now) - epoch_us(e.last_seen_at)) / 3600e6) AS last_seen_hours,
        floor((epoch_us($now) - epoch_us(c.birth_date::TIMESTAMP)) / 86400e6) AS age_days
    FROM customers c
    LEFT JOIN o USING (customer_id)
    LEFT JOIN e USING (customer_id)
),
rules AS (
    SELECT
        customer_id,
        signup_at >= $now - INTERVAL 30 DAY AS new_customers,
        signup_at >= date_trunc('month', $now::TIMESTAMP) AS signed_up_this_month,
        abs(signup_days - 365) <= 3 AS anniversary_week,
        paid_orders = 0 AS never_purchased,
        paid_orders = 1 AND first_order_days <= 30 AS first_time_buyers,
        paid_orders >= 2 AS repeat_buyers,
        paid_365d >= 6 AS loyal,
        paid_30d >= 1 AS recent_buyers,
        coalesce(last_order_days > 90 OR last_order_at IS NULL, false) AS lapsed,
        last_order_days BETWEEN 60 AND 120 AND paid_orders >= 3 AS churn_risk,
        paid_14d >= 1 AND paid_quiet_before_14d = 0 AND paid_orders >= 2 AS reactivated,
        coalesce(spend_90d > 500, false) AS big_spenders,
        ltv >= 2000 AS whales,
        avg_order_value >= 150 AS high_aov,
        round(avg_order_value) < 25 AND paid_orders_90d >= 3 AS bargain_hunters,
        max_paid_60d >= 400 AS big_ticket_recent,
        min_paid_180d < 10 AS small_basket,
        orders_30d > orders_prev_30d AS accelerating,
        spend_90d * 2 < spend_prev_90d AS spend_dropping,
        holiday_spend >= 150 AS holiday_shoppers,
        plan IN ('free', 'basic') AND spend_90d >= 200 AS upgrade_candidates,
        refunded_180d >= 2 AS refund_prone,
        refunded * 4 >= orders AND orders >= 3 AS high_refund_share,
        cancelled_365d >= 2 AS cancel_heavy,
        pending_3d >= 1 AS pending_payment,
        last_status = 'refunded' AS last_order_refunded,
        coalesce(product_views_30d >= 5, false) AS frequent_browsers,
        product_views_30d >= 10 AND paid_orders_90d = 0 AS window_shoppers,
        add_to_cart_7d > 0 AND orders_7d = 0 AS cart_abandoners,
        checkout_start_3d > 0 AND paid_or_pending_3d = 0 AS checkout_abandoners,
        searches_14d >= 3 AS searchers,
        events_7d >= 50 AS power_users,
        event_kinds_30d >= 5 AS diverse_browsing,
        logins_7d >= 3 AND orders_30d = 0 AS logins_without_purchase,
        last_seen_hours < 168 AS active_7d,
        last_seen_days >= 60 AS dormant,
        first_event_30d = 'search' AS came_in_via_search,
        plan = 'free' AND events_30d >= 20 AS engaged_free_users,
        plan = 'enterprise' AND (last_seen_days > 30 OR last_seen_at IS NULL) AS enterprise_at_risk,
        greatest(product_views_30d, searches_30d) >= 8
            AND coalesce(avg_order_value, 0) < 50 AS browsers_not_buyers,
        country IN ('DE', 'FR', 'ES') AND ends_with(lower(email), '@gmail.com') AS eu_gmail,
        country IN ('DE', 'AT', 'CH') AND marketing_opt_in AS dach_opt_in,
        country IS NULL AS unknown_country,
        email IS NOT NULL AND NOT (ends_with(lower(email), '@gmail.com')
            OR ends_with(lower(email), '@yahoo.com') OR ends_with(lower(email), '@outlook.com')
            OR ends_with(lower(email), '@hotmail.com') OR ends_with(lower(email), '@icloud.com')
            OR contains(email, '@gmx.') OR starts_with(upper(trim(email, ' ' || chr(9) || chr(10) || chr(13) || chr(11) || chr(12))), 'TEST+')) AS corporate_email,
        email <> lower(email) AS shouty_email,
        coalesce(regexp_matches(email, '^test[+][0-9]+@') OR ends_with(email, '@example.org'),
                 false) AS test_accounts,
        age_days < 9131 AND length(trim(email, ' ' || chr(9) || chr(10) || chr(13) || chr(11) || chr(12))) > 0 AS young_adults,
        ltv, marketing_opt_in, email
    FROM wide
),
segments AS (
    SELECT
        *,
        lapsed AND ltv >= 200 AND marketing_opt_in AS winback,
        big_spenders AND NOT frequent_browsers AS vip_not_browsing,
        marketing_opt_in AND email IS NOT NULL AND NOT lapsed AND NOT test_accounts AS reachable
    FROM rules
)
SELECT
    count_if(new_customers) AS new_customers,
    count_if(signed_up_this_month) AS signed_up_this_month,
    count_if(anniversary_week) AS anniversary_week,
    count_if(never_purchased) AS never_purchased,
    count_if(first_time_buyers) AS first_time_buyers,
    count_if(repeat_buyers) AS repeat_buyers,
    count_if(loyal) AS loyal,
    count_if(recent_buyers) AS recent_buyers,
    count_if(lapsed) AS lapsed,
    count_if(churn_risk) AS churn_risk,
    count_if(winback) AS winback,
    count_if(reactivated) AS reactivated,
    count_if(big_spenders) AS big_spenders,
    count_if(whales) AS whales,
    count_if(high_aov) AS high_aov,
    count_if(bargain_hunters) AS bargain_hunters,
    count_if(big_ticket_recent) AS big_ticket_recent,
    count_if(small_basket) AS small_basket,
    count_if(accelerating) AS accelerating,
    count_if(spend_dropping) AS spend_dropping,
    count_if(holiday_shoppers) AS holiday_shoppers,
    count_if(vip_not_browsing) AS vip_not_browsing,
    count_if(upgrade_candidates) AS upgrade_candidates,
    count_if(refund_prone) AS refund_prone,
    count_if(high_refund_share) AS high_refund_share,
    count_if(cancel_heavy) AS cancel_heavy,
    count_if(pending_payment) AS pending_payment,
    count_if(last_order_refunded) AS last_order_refunded,
    count_if(frequent_browsers) AS frequent_browsers,
    count_if(window_shoppers) AS window_shoppers,
    count_if(cart_abandoners) AS cart_abandoners,
    count_if(checkout_abandoners) AS checkout_abandoners,
    count_if(searchers) AS searchers,
    count_if(power_users) AS power_users,
    count_if(diverse_browsing) AS diverse_browsing,
    count_if(logins_without_purchase) AS logins_without_purchase,
    count_if(active_7d) AS active_7d,
    count_if(dormant) AS dormant,
    count_if(came_in_via_search) AS came_in_via_search,
    count_if(engaged_free_users) AS engaged_free_users,
    count_if(enterprise_at_risk) AS enterprise_at_risk,
    count_if(browsers_not_buyers) AS browsers_not_buyers,
    count_if(eu_gmail) AS eu_gmail,
    count_if(dach_opt_in) AS dach_opt_in,
    count_if(unknown_country) AS unknown_country,
    count_if(corporate_email) AS corporate_email,
    count_if(shouty_email) AS shouty_email,
    count_if(test_accounts) AS test_accounts,
    count_if(young_adults) AS young_adults,
    count_if(reachable) AS reachable
FROM segments
