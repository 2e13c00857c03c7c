"""Random shops and a plain-Python evaluation of the entity-value spec (tests/test_entity_compile.py).

The reference is deliberately naive: loops over lists of rows, written from the semantics in
docs/language.md ("The customer's own values inside an aggregate"), sharing no code with segrules.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pyarrow as pa

NOW = datetime(2026, 10, 15, 12)
D = timedelta(days=1)
US = timedelta(microseconds=1)

HEAD = """\
version: 1
name: entity_values
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
  events: {table: events, key: customer_id, time: ts}
features:
  last_cart_at: max(events.ts where name == 'add_to_cart')
"""
SPEC = HEAD + """\
  early_orders: count(orders where ordered_at <= entity.signup_at + 7d)
  after_cart: count(orders where ordered_at > entity.last_cart_at)
  logins_2w: count(events where name == 'login' between entity.signup_at and entity.signup_at + 14d)
  first_after_cart: min(orders.ordered_at where ordered_at > entity.last_cart_at)
  events_after_first: count(events where ts > entity.first_after_cart)
  avg_amount: avg(orders.amount)
  recent_above_avg: sum(orders.amount where amount > entity.avg_amount within 30d)
  no_signup_orders: count(orders where ordered_at > entity.signup_at or entity.signup_at is null)
segments:
  activated:
    where: count(orders where ordered_at <= entity.signup_at + 7d) >= 2
  cart_then_bought:
    where: count(orders where ordered_at > entity.last_cart_at and ordered_at <= entity.last_cart_at + 3d) > 0
  chained:
    where: events_after_first >= 1 and count(events where ts > entity.first_after_cart within 10d) >= 1
"""

FEATURES = ["last_cart_at", "early_orders", "after_cart", "logins_2w", "first_after_cart", "events_after_first",
            "avg_amount", "recent_above_avg", "no_signup_orders"]


def shop(seed: int, customers: int = 40):
    """(customers, orders, events) as lists of dicts: times around ``NOW`` (some after it, some
    null), signups with nulls, rows exactly on and a microsecond either side of the bounds,
    and ties between sources."""
    rng = random.Random(seed)
    people, orders, events = [], [], []

    def time_near(base):
        return base + rng.choice([0, 1, 7, 14, -1, 3]) * D + rng.choice([-US, 0 * US, US, rng.randint(0, 86399) * 1_000_000 * US])

    for cid in range(1, customers + 1):
        signup = None if rng.random() < 0.15 else NOW - rng.randint(0, 60) * D - rng.randint(0, 86399) * timedelta(seconds=1)
        people.append({"customer_id": cid, "signup_at": signup})
        base = signup or NOW - 20 * D
        carts = []
        for _ in range(rng.randint(0, 6)):
            ts = None if rng.random() < 0.05 else time_near(base if rng.random() < 0.6 else NOW - rng.randint(0, 40) * D)
            name = rng.choice(["add_to_cart", "login", "login", "view"])
            events.append({"customer_id": cid, "ts": ts, "name": name})
            if name == "add_to_cart" and ts is not None:
                carts.append(ts)
        for _ in range(rng.randint(0, 5)):
            if carts and rng.random() < 0.4:  # tie with a cart event, or just around it
                t = rng.choice(carts) + rng.choice([0 * US, US, -US, 3 * D, 3 * D + US])
            else:
                t = None if rng.random() < 0.05 else time_near(base if rng.random() < 0.5 else NOW - rng.randint(0, 45) * D)
            amount = None if rng.random() < 0.1 else float(rng.randint(1, 20) * 5)
            orders.append({"customer_id": cid, "ordered_at": t, "amount": amount})
    return people, orders, events


def arrow_tables(people, orders, events) -> dict[str, pa.Table]:
    ts = pa.timestamp("us")
    return {
        "customers": pa.table({"customer_id": pa.array([p["customer_id"] for p in people], pa.int64()),
                               "signup_at": pa.array([p["signup_at"] for p in people], ts)}),
        "orders": pa.table({"customer_id": pa.array([o["customer_id"] for o in orders], pa.int64()),
                            "ordered_at": pa.array([o["ordered_at"] for o in orders], ts),
                            "amount": pa.array([o["amount"] for o in orders], pa.float64())}),
        "events": pa.table({"customer_id": pa.array([e["customer_id"] for e in events], pa.int64()),
                            "ts": pa.array([e["ts"] for e in events], ts),
                            "name": pa.array([e["name"] for e in events], pa.string())}),
    }


def reference(people, orders, events, now: datetime) -> dict[int, dict]:
    """customer_id -> every feature and segment of SPEC, as of ``now``."""
    out = {}
    for p in people:
        cid, signup = p["customer_id"], p["signup_at"]
        ords = [o for o in orders if o["customer_id"] == cid and o["ordered_at"] is not None and o["ordered_at"] <= now]
        evs = [e for e in events if e["customer_id"] == cid and e["ts"] is not None and e["ts"] <= now]
        carts = [e["ts"] for e in evs if e["name"] == "add_to_cart"]
        last_cart = max(carts) if carts else None
        r = {"last_cart_at": last_cart}
        r["early_orders"] = sum(1 for o in ords if signup is not None and o["ordered_at"] <= signup + 7 * D)
        r["after_cart"] = sum(1 for o in ords if last_cart is not None and o["ordered_at"] > last_cart)
        r["logins_2w"] = sum(1 for e in evs if e["name"] == "login" and signup is not None
                             and signup <= e["ts"] <= signup + 14 * D)
        later = [o["ordered_at"] for o in ords if last_cart is not None and o["ordered_at"] > last_cart]
        r["first_after_cart"] = min(later) if later else None
        first = r["first_after_cart"]
        r["events_after_first"] = sum(1 for e in evs if first is not None and e["ts"] > first)
        amounts = [o["amount"] for o in ords if o["amount"] is not None]
        avg = sum(amounts) / len(amounts) if amounts else None
        r["avg_amount"] = avg
        r["recent_above_avg"] = sum(o["amount"] for o in ords if o["ordered_at"] > now - 30 * D
                                    and o["amount"] is not None and avg is not None and o["amount"] > avg)
        r["no_signup_orders"] = sum(1 for o in ords if signup is None or o["ordered_at"] > signup)
        r["activated"] = r["early_orders"] >= 2
        r["cart_then_bought"] = any(last_cart is not None and last_cart < o["ordered_at"] <= last_cart + 3 * D
                                    for o in ords)
        r["chained"] = r["events_after_first"] >= 1 and sum(
            1 for e in evs if first is not None and e["ts"] > first and e["ts"] > now - 10 * D) >= 1
        out[cid] = r
    return out
