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


def duckdb_shop(now, orders=(), events=(), **customers):
    """An in-memory DuckDB with the tables of :data:`SCHEMA`: customers 1-4 and the given
    ``orders`` (customer, days before ``now``, amount, status) and ``events`` (customer,
    days before ``now``, name). ``customers`` replaces customer columns (four values each)."""
    from datetime import timedelta

    import ibis
    import pyarrow as pa

    def at(days):
        return pa.array([now - timedelta(days=d) for d in days], pa.timestamp("us"))

    con = ibis.duckdb.connect()
    people = {
        "customer_id": pa.array([1, 2, 3, 4], pa.int64()), "email": pa.array(["a", "b", "c", "d"]),
        "country": pa.array(["DE"] * 4), "signup_at": at([0] * 4), "plan": pa.array(["free"] * 4),
        "birth_date": pa.array([now.date()] * 4, pa.date32()), "marketing_opt_in": pa.array([True] * 4)}
    people.update({name: pa.array(values, people[name].type) for name, values in customers.items()})
    con.create_table("customers", pa.table(people))
    con.create_table("orders", pa.table({
        "order_id": pa.array(range(len(orders)), pa.int64()),
        "customer_id": pa.array([r[0] for r in orders], pa.int64()), "ordered_at": at([r[1] for r in orders]),
        "amount": pa.array([r[2] for r in orders], pa.float64()),
        "status": pa.array([r[3] for r in orders], pa.string())}))
    con.create_table("events", pa.table({
        "event_id": pa.array(range(len(events)), pa.int64()),
        "customer_id": pa.array([r[0] for r in events], pa.int64()), "ts": at([r[1] for r in events]),
        "name": pa.array([r[2] for r in events], pa.string())}))
    return con
