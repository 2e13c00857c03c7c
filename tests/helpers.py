"""Shared test fixtures: a tiny shop spec with an offline schema block."""

SCHEMA = """\
schema:
  customers: {customer_id: int64, email: string, country: string, signup_at: timestamp, plan: string,
              birth_date: date, marketing_opt_in: boolean}
  orders: {order_id: int64, customer_id: int64, ordered_at: timestamp, amount: float64, status: string}
  events: {event_id: int64, customer_id: int64, ts: timestamp, name: string}
"""

HEAD = """\
version: 1
name: t
entity: {table: customers, key: customer_id}
sources:
  orders: {table: orders, key: customer_id, time: ordered_at}
  events: {table: events, key: customer_id, time: ts}
params: {vip: 500, region: DE}
features:
  ltv: sum(orders.amount)
  last_order_at: max(orders.ordered_at)
"""


def spec_text(segments: dict[str, str], schema: bool = True) -> str:
    body = "segments:\n" + "".join(f"  {name}:\n    where: {rule}\n" for name, rule in segments.items())
    return HEAD + body + (SCHEMA if schema else "")
