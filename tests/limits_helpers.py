"""A small shop on DuckDB and PostgreSQL for the limits tests (tests/test_check_limits.py and
tests/test_validate_runs.py): unique table names per connection, specs written over them."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import ibis
import pyarrow as pa

from segrules.errors import SegrulesError

NOW = datetime(2026, 1, 1, 12, 0, 0)


class Shop:
    """``customers`` (customer_id, country, email, signup_at, credit decimal(18,3)) and
    ``orders`` (customer_id, ordered_at, amount) under unique names on ``con``."""

    def __init__(self, con):
        self.con = con
        tag = uuid.uuid4().hex[:10]
        self.customers, self.orders = f"lim_c_{tag}", f"lim_o_{tag}"
        con.create_table(self.customers, pa.table({
            "customer_id": pa.array([1, 2, 3, 4], pa.int64()),
            "country": pa.array(["c0", "c399", "DE", None]),
            "email": pa.array(["a", "b", None, "d"]),
            "signup_at": pa.array([datetime(2025, 1, 1), datetime(2020, 6, 1), None, datetime(2001, 1, 1)],
                                  pa.timestamp("us")),
            "credit": pa.array([Decimal("12.345"), Decimal("-1.500"), None, Decimal("0.000")], pa.decimal128(18, 3)),
        }))
        con.create_table(self.orders, pa.table({
            "customer_id": pa.array([1, 1, 2], pa.int64()),
            "ordered_at": pa.array([datetime(2025, 12, 1), datetime(2025, 6, 1), datetime(2024, 1, 1)],
                                   pa.timestamp("us")),
            "amount": pa.array([10.0, 2.5, 7.0], pa.float64()),
        }))

    def drop(self):
        for name in (self.customers, self.orders):
            self.con.drop_table(name, force=True)

    def spec(self, segments: dict[str, str], features: dict[str, str] | None = None,
             params: dict[str, str] | None = None) -> str:
        lines = ["version: 1", "name: limits", f"entity: {{table: {self.customers}, key: customer_id}}",
                 "sources:", f"  orders: {{table: {self.orders}, key: customer_id, time: ordered_at}}"]
        if params:
            lines += ["params:"] + [f"  {k}: {v}" for k, v in params.items()]
        lines += ["features:", "  spent: sum(orders.amount)"]
        lines += [f"  {name}: {_scalar(rule)}" for name, rule in (features or {}).items()]
        lines += ["segments:"]
        for name, rule in segments.items():
            lines += [f"  {name}:", f"    where: {_scalar(rule)}"]
        return "\n".join(lines) + "\n"


def _scalar(rule: str) -> str:
    """A YAML scalar for a rule: double-quoted (escapes kept) when plain style would not do."""
    if rule[:1] in "-'\"[{!&*?|>%@`#" or ": " in rule or " #" in rule:
        return '"' + rule.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return rule


def outcome(spec, con, params=None):
    """("rejected", [diagnostics]) when validate reports errors, else ("ran", rows by key).
    Any exception from validate or run that is not a SegrulesError propagates."""
    errors = [d for d in spec.validate(con) if d.is_error]
    if errors:
        return "rejected", errors
    table = spec.evaluate(con, as_of=NOW, params=params).to_pyarrow()
    return "ran", {row["customer_id"]: row for row in table.to_pylist()}


__all__ = ["Shop", "NOW", "outcome", "SegrulesError", "ibis"]
