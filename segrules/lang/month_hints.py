"""Hints for months and years written as durations (``now - 1month``, ``now - 1 month``).

Durations are fixed lengths (s, min, h, d, w); a month is not, so calendar months go through
``add_months(t, n)``.  The hint rewrites what was written when it can see the operand and the
sign: ``signup_at + 2 months`` suggests ``add_months(signup_at, 2)``.
"""

from __future__ import annotations

import re

MONTH_WORDS = frozenset({"mo", "mon", "mons", "month", "months", "mth", "mths"})
YEAR_WORDS = frozenset({"y", "yr", "yrs", "year", "years"})
# ``x - 1 month``: the operand and the sign right before the amount
_BEFORE = re.compile(r"(?:(?:^|[^\w.$])(?P<base>[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)?)\s*)?(?P<op>[+-])\s*$")


def month_hint(before: str, amount: str, unit: str) -> str | None:
    """The hint for ``amount unit`` (e.g. ``'1'``, ``'month'``) written after the text ``before``,
    or None when the unit is not a month or year."""
    unit = unit.lower()
    if unit not in MONTH_WORDS | YEAR_WORDS and unit != "m":
        return None
    months = int(amount) * (12 if unit in YEAR_WORDS else 1) if amount.isdigit() else None
    match = _BEFORE.search(before)
    sign = "-" if match and match["op"] == "-" else ""
    base = match["base"] if match and match["base"] else "t"
    call = f"add_months({base}, {sign}{months if months is not None else 'n'})"
    if unit == "m":
        return f"use min for minutes; for calendar months, {call}"
    hint = f"a {'year' if unit in YEAR_WORDS else 'month'} has no fixed length: use {call}"
    if not match:
        hint += ", or a calendar window such as 'within last month'"
    return hint
