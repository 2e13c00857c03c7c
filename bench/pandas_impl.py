"""The 50 segments of segment_specs/bench_50.yaml in pandas, as a data scientist would write them:
load the three tables, one groupby per aggregate, rules over per-customer columns.

SQL null semantics come from pandas' nullable dtypes (``Int64``, ``Float64``, ``boolean``,
``string``): comparisons with a missing value are missing, ``&``/``|``/``~`` follow Kleene logic,
and a missing rule result is not a match.  Money is handled in integer cents, so sums and
thresholds are exact like DuckDB's DECIMAL.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

DAY_US = 86_400_000_000
WHITESPACE = " \t\n\r\x0b\x0c"
"""What ``trim`` strips (docs/language.md: leading and trailing whitespace; Ibis: string.whitespace)."""
HOUR_US = 3_600_000_000


def load(con) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """customers, orders, events from a DuckDB connection (via Arrow, the fast path)."""
    customers, orders, events = (con.sql(f"SELECT * FROM {t}").to_arrow_table().to_pandas(date_as_object=False)
                                 for t in ("customers", "orders", "events"))
    for col in ("email", "country", "plan"):
        customers[col] = customers[col].astype("string")
    customers["marketing_opt_in"] = customers["marketing_opt_in"].astype("boolean")
    orders["cents"] = (orders.pop("amount").astype("float64") * 100).round().astype("int64")
    return customers, orders, events


def member_counts(customers: pd.DataFrame, orders: pd.DataFrame, events: pd.DataFrame,
                  now: datetime) -> dict[str, int]:
    now = pd.Timestamp(now)
    c = customers.set_index("customer_id")
    ids = c.index
    o = orders[orders.ordered_at <= now]
    e = events[events.ts <= now]

    def days(n: int) -> pd.Timestamp:
        return now - pd.Timedelta(days=n)

    def per_customer(rows: pd.DataFrame, column: str | None, how: str) -> pd.Series:
        grouped = rows.groupby("customer_id", sort=False)
        result = grouped.size() if column is None else grouped[column].agg(how)
        return result.reindex(ids)

    def count(rows: pd.DataFrame) -> pd.Series:
        return per_customer(rows, None, "size").fillna(0).astype("Int64")

    def cents_sum(rows: pd.DataFrame) -> pd.Series:
        return per_customer(rows, "cents", "sum").fillna(0).astype("Int64")

    def nullable(values: pd.Series) -> pd.Series:
        return values.astype("Float64")  # NaN becomes NA

    def since(ts: pd.Series, unit_us: int) -> pd.Series:
        elapsed_us = (now - ts) / pd.Timedelta(microseconds=1)
        return nullable(np.floor(elapsed_us / unit_us))

    def at_extreme(rows: pd.DataFrame, time_col: str, column: str, pick: str) -> pd.Series:
        """first/last: ``column`` on each customer's earliest/latest row."""
        grouped = rows.groupby("customer_id", sort=False)[time_col]
        index = grouped.idxmin() if pick == "first" else grouped.idxmax()
        return pd.Series(rows[column].loc[index.values].values, index=index.index,
                         dtype="string").reindex(ids)

    def isin(values: pd.Series, options: tuple) -> pd.Series:
        return values.isin(options).astype("boolean").mask(values.isna())

    def member(rule: pd.Series) -> pd.Series:
        return rule.fillna(False).astype(bool)

    paid = o[o.status == "paid"]
    # features
    ltv = cents_sum(paid)
    paid_orders = count(paid)
    paid_orders_90d = count(paid[paid.ordered_at > days(90)])
    spend_90d = cents_sum(paid[paid.ordered_at > days(90)])
    avg_order_value = nullable(ltv / paid_orders.replace(0, pd.NA) / 100)
    first_order_at = per_customer(paid, "ordered_at", "min")
    last_order_at = per_customer(paid, "ordered_at", "max")
    e30 = e[e.ts > days(30)]
    product_views_30d = count(e30[e30.name == "product_view"])
    events_30d = count(e30)
    last_seen_at = per_customer(e, "ts", "max")

    email, lower_email, country, plan = c.email, c.email.str.lower(), c.country, c.plan
    opt_in = c.marketing_opt_in
    last_order_days = since(last_order_at, DAY_US)
    last_seen_days = since(last_seen_at, DAY_US)
    aov = avg_order_value.astype("float64")  # NA -> NaN; SQL round() goes half away from zero
    aov_rounded = nullable(pd.Series(np.where(aov - np.floor(aov) >= 0.5, np.ceil(aov), np.floor(aov)),
                                     index=ids))
    s: dict[str, pd.Series] = {}
    # lifecycle
    s["new_customers"] = c.signup_at >= days(30)
    s["signed_up_this_month"] = c.signup_at >= now.normalize().replace(day=1)
    s["anniversary_week"] = (since(c.signup_at, DAY_US) - 365).abs() <= 3
    s["never_purchased"] = paid_orders == 0
    s["first_time_buyers"] = (paid_orders == 1) & (since(first_order_at, DAY_US) <= 30)
    s["repeat_buyers"] = paid_orders >= 2
    s["loyal"] = count(paid[paid.ordered_at > days(365)]) >= 6
    s["recent_buyers"] = count(paid[paid.ordered_at > days(30)]) >= 1
    s["lapsed"] = (last_order_days > 90) | last_order_at.isna()
    s["churn_risk"] = (last_order_days >= 60) & (last_order_days <= 120) & (paid_orders >= 3)
    s["winback"] = member(s["lapsed"]) & (ltv >= 200_00) & opt_in
    quiet = paid[(paid.ordered_at <= days(14)) & (paid.ordered_at > days(114))]
    s["reactivated"] = ((count(paid[paid.ordered_at > days(14)]) >= 1) & (count(quiet) == 0)
                        & (paid_orders >= 2))
    # value
    s["big_spenders"] = spend_90d > 500_00
    s["whales"] = ltv >= 2000_00
    s["high_aov"] = avg_order_value >= 150
    s["bargain_hunters"] = (aov_rounded < 25) & (paid_orders_90d >= 3)
    s["big_ticket_recent"] = per_customer(paid[paid.ordered_at > days(60)], "cents", "max") >= 400_00
    s["small_basket"] = per_customer(paid[paid.ordered_at > days(180)], "cents", "min") < 10_00
    o60 = o[o.ordered_at > days(60)]
    s["accelerating"] = count(o60[o60.ordered_at > days(30)]) > count(o60[o60.ordered_at <= days(30)])
    prior = paid[(paid.ordered_at <= days(90)) & (paid.ordered_at > days(180))]
    s["spend_dropping"] = spend_90d * 2 < cents_sum(prior)
    season = o[(o.ordered_at >= days(400)) & (o.ordered_at <= days(330))]
    s["holiday_shoppers"] = cents_sum(season) >= 150_00
    s["upgrade_candidates"] = isin(plan, ("free", "basic")) & (spend_90d >= 200_00)
    # risk
    refunded = o[o.status == "refunded"]
    s["refund_prone"] = count(refunded[refunded.ordered_at > days(180)]) >= 2
    s["high_refund_share"] = (count(refunded) * 4 >= count(o)) & (count(o) >= 3)
    cancelled = o[(o.status == "cancelled") & (o.ordered_at > days(365))]
    s["cancel_heavy"] = count(cancelled) >= 2
    s["pending_payment"] = count(o[(o.status == "pending") & (o.ordered_at > days(3))]) >= 1
    s["last_order_refunded"] = at_extreme(o, "ordered_at", "status", "last") == "refunded"
    # browsing and engagement
    s["frequent_browsers"] = product_views_30d >= 5
    s["vip_not_browsing"] = member(s["big_spenders"]) & ~member(s["frequent_browsers"])
    s["window_shoppers"] = (product_views_30d >= 10) & (paid_orders_90d == 0)
    e7, e3 = e[e.ts > days(7)], e[e.ts > days(3)]
    s["cart_abandoners"] = ((count(e7[e7.name == "add_to_cart"]) > 0)
                            & (count(o[o.ordered_at > days(7)]) == 0))
    paid_or_pending_3d = o[o.status.isin(("paid", "pending")) & (o.ordered_at > days(3))]
    s["checkout_abandoners"] = ((count(e3[e3.name == "checkout_start"]) > 0)
                                & (count(paid_or_pending_3d) == 0))
    e14 = e[e.ts > days(14)]
    s["searchers"] = count(e14[e14.name == "search"]) >= 3
    s["power_users"] = count(e7) >= 50
    s["diverse_browsing"] = per_customer(e30, "name", "nunique").fillna(0) >= 5
    s["logins_without_purchase"] = ((count(e7[e7.name == "login"]) >= 3)
                                    & (count(o[o.ordered_at > days(30)]) == 0))
    s["active_7d"] = since(last_seen_at, HOUR_US) < 168
    s["dormant"] = last_seen_days >= 60
    s["came_in_via_search"] = at_extreme(e30, "ts", "name", "first") == "search"
    s["engaged_free_users"] = (plan == "free") & (events_30d >= 20)
    s["enterprise_at_risk"] = (plan == "enterprise") & ((last_seen_days > 30) | last_seen_at.isna())
    searches_30d = count(e30[e30.name == "search"])
    s["browsers_not_buyers"] = ((np.maximum(product_views_30d, searches_30d) >= 8)
                                & (avg_order_value.fillna(0) < 50))
    # geography and contact
    s["eu_gmail"] = isin(country, ("DE", "FR", "ES")) & lower_email.str.endswith("@gmail.com")
    s["dach_opt_in"] = isin(country, ("DE", "AT", "CH")) & opt_in
    s["unknown_country"] = country.isna()
    consumer = (lower_email.str.endswith("@gmail.com") | lower_email.str.endswith("@yahoo.com")
                | lower_email.str.endswith("@outlook.com") | lower_email.str.endswith("@hotmail.com")
                | lower_email.str.endswith("@icloud.com") | email.str.contains("@gmx.", regex=False)
                | email.str.strip(WHITESPACE).str.upper().str.startswith("TEST+"))
    s["corporate_email"] = email.notna() & ~consumer
    s["shouty_email"] = email != lower_email
    s["test_accounts"] = (email.str.contains("^test[+][0-9]+@", regex=True)
                          | email.str.endswith("@example.org"))
    s["young_adults"] = (since(c.birth_date, DAY_US) < 9131) & (email.str.strip(WHITESPACE).str.len() > 0)
    s["reachable"] = (opt_in & email.notna() & ~member(s["lapsed"])
                      & ~member(s["test_accounts"]))
    return {name: int(member(rule).sum()) for name, rule in s.items()}
