"""Hypothesis strategies: specs over the shop of tests/limits_helpers.py made of edge cases:
literals at and beyond the documented ranges (docs/language.md, "Limits"), long ``and``/``or``
chains, ``in`` lists, runs of ``not`` and unary minus, and chains of segments and features.

The rules are text (what a user writes), built from pools of edge values; each draw is a spec
(segments, features, params) for :meth:`limits_helpers.Shop.spec`.  Integers beyond 64 bits are
only compared or combined with constants: arithmetic of a column value that overflows is the
data's, not the spec's (docs/language.md, "Limits").
"""

from __future__ import annotations

from hypothesis import strategies as st

from segrules.check.ranges import MAX_MONTHS, MAX_ROUND_DIGITS, MAX_SHIFT_DAYS
from segrules.lang.limits import MAX_EXPR_DEPTH

INTS = ["0", "1", "2147483648", "9007199254740993", "9223372036854775807", "9223372036854775808",
        "99999999999999999999999", "(-9223372036854775807 - 1)"]
NUMBERS = ["0.5", "12345678901234567890.5", "9" * 308 + ".0", "9" * 309 + ".0", "0.000000000000000000001"]
DURATIONS = ["0d", "1d", "30d", f"{MAX_SHIFT_DAYS}d", f"{MAX_SHIFT_DAYS + 1}d", f"{MAX_SHIFT_DAYS // 7}w",
             f"{MAX_SHIFT_DAYS * 86400}s", f"{MAX_SHIFT_DAYS * 24}h", "99999999999999999999d", "1440min"]
TIMES = ["date('0001-01-01')", "date('9999-12-31')", "timestamp('9999-12-31 23:59:59')",
         "timestamp('0001-01-01 00:00:00')", "date('2024-02-29')", "now", "today"]
MONTHS = ["0", "1", "-1", str(MAX_MONTHS), str(-MAX_MONTHS), str(MAX_MONTHS + 1), "99999999999",
          "9223372036854775808"]
DIGITS = ["0", "3", "18", "40", str(MAX_ROUND_DIGITS), str(MAX_ROUND_DIGITS + 1), "99999999999"]
COMPARE = ["==", "!=", "<", "<=", ">", ">="]


@st.composite
def edge_condition(draw) -> str:
    """One condition with edge-case literals."""
    pick = draw(st.sampled_from(["int", "const", "number", "shift", "literal_shift", "months", "round",
                                 "window", "param"]))
    op = draw(st.sampled_from(COMPARE))
    if pick == "int":
        return f"customer_id {op} {draw(st.sampled_from(INTS))}"
    if pick == "const":
        a, b = draw(st.sampled_from(INTS)), draw(st.sampled_from(INTS))
        return f"customer_id {op} {a} {draw(st.sampled_from(['+', '-', '*']))} {b}"
    if pick == "number":
        return f"spent {op} {draw(st.sampled_from(NUMBERS))}"
    if pick == "shift":
        shifts = " ".join(f"{draw(st.sampled_from(['+', '-']))} {d}"
                          for d in draw(st.lists(st.sampled_from(DURATIONS), min_size=1, max_size=3)))
        return f"signup_at {op} now {shifts}"
    if pick == "literal_shift":
        return f"signup_at {op} {draw(st.sampled_from(TIMES))} {draw(st.sampled_from(['+', '-']))} " \
               f"{draw(st.sampled_from(DURATIONS))}"
    if pick == "months":
        base = draw(st.sampled_from(["signup_at"] + TIMES))
        return f"add_months({base}, {draw(st.sampled_from(MONTHS))}) {op} signup_at"
    if pick == "round":
        column = draw(st.sampled_from(["credit", "spent"]))
        return f"round({column}, {draw(st.sampled_from(DIGITS))}) {op} 0"
    if pick == "window":
        return f"count(orders within {draw(st.sampled_from(DURATIONS))}) {op} 0"
    return f"customer_id {op} $p"


@st.composite
def long_condition(draw) -> str:
    """A condition with a long chain: and/or, an in list, runs of not or unary minus."""
    pick = draw(st.sampled_from(["and", "or", "in", "not", "neg"]))
    if pick in ("and", "or"):
        n = draw(st.integers(2, 400))
        return f" {pick} ".join(f"customer_id != {i}" if pick == "and" else f"customer_id == {i}"
                                for i in range(n))
    if pick == "in":
        n = draw(st.integers(1, 3000))
        items = [f"'c{i}'" for i in range(n)] + (["null"] if draw(st.booleans()) else [])
        return f"country {draw(st.sampled_from(['in', 'not in']))} ({', '.join(items)})"
    n = draw(st.integers(0, 400))
    if pick == "not":
        return "not " * n + f"({draw(edge_condition())})"
    if draw(st.booleans()):  # nesting that does count, around the limit
        k = draw(st.integers(MAX_EXPR_DEPTH // 2 - 3, MAX_EXPR_DEPTH // 2 + 3))
        return "-(1 + " * k + "customer_id" + ")" * k + " < 2"
    return "-" * n + "customer_id < 2"


@st.composite
def limit_specs(draw) -> dict:
    """``{"segments": ..., "features": ..., "params": ...}`` for ``Shop.spec``."""
    segments = {}
    for i in range(draw(st.integers(1, 3))):
        segments[f"s{i}"] = draw(st.one_of(edge_condition(), long_condition()))
    chain = draw(st.integers(0, 40))
    if chain:
        forward = draw(st.booleans())
        for i in range(chain):
            link = f"c{i - 1}" if forward else f"c{i + 1}"
            ends = i == 0 if forward else i == chain - 1
            segments[f"c{i}"] = "customer_id > 1" if ends else f"segment('{link}') and customer_id < {500 - i}"
    features = {}
    pick = draw(st.sampled_from(["none", "time", "round", "const", "chain"]))
    if pick == "time":
        features["t"] = f"{draw(st.sampled_from(TIMES))} - {draw(st.sampled_from(DURATIONS))}"
    elif pick == "round":
        features["r"] = f"round(credit, {draw(st.sampled_from(DIGITS))})"
    elif pick == "const":
        features["k"] = f"{draw(st.sampled_from(INTS))} * {draw(st.sampled_from(['1', '2', '-1']))}"
    elif pick == "chain":
        n = draw(st.integers(2, 60))
        features.update({"f0": "customer_id", **{f"f{i}": f"f{i - 1} + 1" for i in range(1, n)}})
    params = {"p": draw(st.sampled_from(INTS[:-1] + ["0.5", "30d"]))}
    return {"segments": segments, "features": features, "params": params}
