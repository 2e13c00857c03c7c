"""sequence(...) / time_between(...) and duration parameters: parse, check, compile, run.

Values are checked against hand-worked cases here (each case names the rule it exercises) on
DuckDB and PostgreSQL; tests/test_differential_behaviour.py compares random event logs with the
independent reference.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pyarrow as pa
import pytest

import segrules
from segrules.errors import SegrulesError
from segrules.lang import ast, parse_expr
from segrules.lang.unparse import unparse

from rfm_helpers import BACKENDS, connect

NOW = datetime(2024, 3, 1, 12, 0, 0)
US = timedelta(microseconds=1)
D = timedelta(days=1)

# entity id -> events (time, name) and orders (time, status); each id is one hand-worked case
EVENTS = {
    1: [(NOW - 10 * D, "view"), (NOW - 9 * D, "cart")],                     # view, cart, paid order
    2: [(NOW - 10 * D, "view"), (NOW - 10 * D, "cart")],                    # tie: cart not after view
    3: [(NOW - 20 * D, "view"), (NOW - 5 * D, "view"), (NOW - 4 * D, "cart")],  # 2nd attempt converts
    4: [(NOW - 3 * D, "cart"), (NOW - 2 * D, "view")],                      # wrong order
    5: [(NOW - 8 * D, "view"), (NOW - 8 * D + 3 * D, "cart")],              # cart exactly 3d later
    6: [(NOW - 8 * D, "view"), (NOW - 8 * D + 3 * D + US, "cart")],         # 3d + 1 us later
    7: [(NOW + D, "view"), (NOW + 2 * D, "cart")],                          # after now: ignored
    8: [],                                                                  # nothing
    9: [(NOW - 40 * D, "view"), (NOW - 2 * D, "cart")],                     # view outside within 30d
}
ORDERS = {
    1: [(NOW - 8 * D, "paid")],
    2: [(NOW - 9 * D, "paid")],
    3: [(NOW - 3 * D, "refunded"), (NOW - 1 * D, "paid")],
    5: [(NOW - 8 * D + 3 * D, "paid")],                                     # same time as the cart
}

SPEC = """\
version: 1
name: seq
entity: {{table: {c}, key: id}}
sources:
  events: {{table: {e}, key: id, time: ts}}
  orders: {{table: {o}, key: id, time: at}}
params: {{window: 3d, recent: 30d, one: 1}}
features:
  funnel: sequence(events where name == 'view' then events where name == 'cart' then orders where status == 'paid')
  funnel_3d: sequence(events where name == 'view' then events where name == 'cart' then orders where status == 'paid' convert $window)
  viewed_then_cart_30d: sequence(events where name == 'view' then events where name == 'cart' within $recent)
  any_then_order: sequence(events then orders)
segments:
  converted_3d: {{where: "sequence(events where name == 'view' then events where name == 'cart' convert 3d) == 2"}}
  quick_cart: {{where: "time_between(events where name == 'view' then events where name == 'cart') <= 72h"}}
  no_path: {{where: "time_between(events where name == 'view' then events where name == 'cart') is null"}}
  recent_activity: {{where: "count(events within $recent) > 0 and now - $recent < now"}}
"""

EXPECTED = {  # id -> (funnel, funnel_3d, viewed_then_cart_30d, any_then_order, converted_3d, quick_cart, no_path)
    1: (3, 3, 2, 2, True, True, False),
    2: (1, 1, 1, 2, False, False, True),   # the cart is not strictly after the view
    3: (3, 2, 2, 2, True, True, False),    # funnel: 1st attempt; within 3d only the 2nd reaches step 2
    4: (1, 1, 1, 1, False, False, True),   # events but no order: step 1 of any_then_order only
    5: (2, 2, 2, 2, True, True, False),    # the order at the cart's time is not after it; 3d exactly is in
    6: (2, 1, 2, 1, False, False, False),  # 3d + 1 us is out of 'convert 3d' and of '<= 72h'
    7: (0, 0, 0, 0, False, False, True),   # rows after now do not count
    8: (0, 0, 0, 0, False, False, True),
    9: (2, 1, 0, 1, False, False, False),  # within 30d: the view 40 days ago is not a step-1 row
}


def _tables(con):
    tag = uuid.uuid4().hex[:8]
    names = {"c": f"seq_c_{tag}", "e": f"seq_e_{tag}", "o": f"seq_o_{tag}"}
    ids = sorted(EVENTS)
    con.create_table(names["c"], pa.table({"id": pa.array(ids, pa.int64())}))
    ev = [(i, t, n) for i in ids for t, n in EVENTS[i]]
    con.create_table(names["e"], pa.table({
        "id": pa.array([r[0] for r in ev], pa.int64()), "ts": pa.array([r[1] for r in ev], pa.timestamp("us")),
        "name": pa.array([r[2] for r in ev])}))
    od = [(i, t, s) for i in ORDERS for t, s in ORDERS[i]]
    con.create_table(names["o"], pa.table({
        "id": pa.array([r[0] for r in od], pa.int64()), "at": pa.array([r[1] for r in od], pa.timestamp("us")),
        "status": pa.array([r[2] for r in od])}))
    return names


@pytest.fixture(scope="module", params=BACKENDS)
def shop(request):
    con = connect(request.param)
    names = _tables(con)
    yield con, segrules.load_text(SPEC.format(**names), "seq.yaml")
    for table in names.values():
        con.drop_table(table, force=True)


def test_sequences_values_match_the_hand_worked_cases(shop):
    con, spec = shop
    got = spec.evaluate(con, as_of=NOW).to_pyarrow().to_pylist()
    columns = ("funnel", "funnel_3d", "viewed_then_cart_30d", "any_then_order", "converted_3d", "quick_cart",
               "no_path")
    for row in got:
        assert tuple(row[c] for c in columns) == EXPECTED[row["id"]], row


def test_sequences_duration_parameter_overrides_change_the_window(shop):
    con, spec = shop
    wide = spec.evaluate(con, as_of=NOW, params={"window": "4d", "recent": "60d"}).to_pyarrow().to_pylist()
    by_id = {row["id"]: row for row in wide}
    assert by_id[6]["funnel_3d"] == 2  # the cart 3d + 1us after the view now converts within 4d
    assert by_id[9]["viewed_then_cart_30d"] == 2  # the view 40 days ago is inside 60d


def test_sequences_a_non_duration_override_of_a_duration_parameter_is_an_error(shop):
    con, spec = shop
    with pytest.raises(SegrulesError, match=r"\$window is a duration"):
        spec.evaluate(con, as_of=NOW, params={"window": "3"})


def test_sequences_compile_into_the_one_query():
    spec = segrules.load_text(SPEC.format(c="c", e="e", o="o") + """\
schema:
  c: {id: int64}
  e: {id: int64, ts: timestamp, name: string}
  o: {id: int64, at: timestamp, status: string}
""", "seq.yaml")
    sql = spec.to_sql("duckdb")
    assert sql.lstrip().upper().startswith(("SELECT", "WITH")) and ";" not in sql.rstrip().rstrip(";")
    # the three plan shapes: a join chain (convert), the earliest chain (sequence without convert),
    # the greedy chain of every attempt (time_between without convert)
    assert '"_end"' in sql and "MIN(" in sql and "ROWS BETWEEN 1 following AND UNBOUNDED FOLLOWING" in sql


def test_sequences_parse_into_steps_with_positions():
    node = parse_expr("sequence(events where name == 'a' then orders convert 3d within $recent)")
    assert isinstance(node, ast.Sequence) and node.func == "sequence"
    assert [s.source for s in node.steps] == ["events", "orders"]
    assert node.convert == ast.Duration(3, "d") and node.window == ast.Within(ast.Param("recent"))
    assert (node.steps[1].span.line, node.steps[1].span.column) == (1, 40)
    assert unparse(node) == "sequence(events where name == 'a' then orders convert 3d within $recent)"


@pytest.mark.parametrize("rule, code, at", [  # `at`: where the error points, as text of the rule
    ("sequence(events) > 0", "SR264", "sequence("),
    ("count(events then orders) > 0", "SR262", "then"),
    ("sequence(events.name then orders) > 0", "SR263", "events.name"),
    ("sequence(events then orders convert 7) > 0", "SR265", "7"),
    ("sequence(events then nowhere) > 0", "SR302", "nowhere"),
    ("sequence(events where nme == 'a' then orders) > 0", "SR301", "nme"),
    ("sequence(events then orders convert $one) > 0", "SR416", "$one"),
    ("sequence(events then orders within $one) > 0", "SR416", "$one"),
    ("sequence(events then orders convert 0d) > 0", "SR431", "0d"),
    ("count(events where sequence(events then orders) > 0) > 0", "SR430", "sequence("),
    ("sequence(events then orders) > 1d", "SR413", "1d"),
    ("time_between(events then orders) > 1", "SR413", "time_between("),
    ("sequence(events where ts > entity.signup then orders) > 0", "SR432", "entity.signup"),
    ("sequence(events then plain) > 0", "SR408", "plain"),
])
def test_sequences_misuse_is_a_positioned_error(rule, code, at):
    text = SPEC.format(c="c", e="e", o="o").replace(
        "  recent_activity:", f"  bad: {{where: \"{rule}\"}}\n  recent_activity:") + """\
  plain: {table: p, key: id}
schema:
  c: {id: int64, signup: timestamp}
  e: {id: int64, ts: timestamp, name: string}
  o: {id: int64, at: timestamp, status: string}
  p: {id: int64}
""".replace("  plain: {table: p, key: id}\n", "")
    text = text.replace("sources:\n", "sources:\n  plain: {table: p, key: id}\n")
    with pytest.raises(SegrulesError) as info:
        segrules.load_text(text, "seq.yaml").check()
    found = [d for d in info.value.diagnostics if d.code == code]
    assert found, [str(d) for d in info.value.diagnostics]
    line = text.splitlines().index(next(li for li in text.splitlines() if li.startswith("  bad:"))) + 1
    column = len("  bad: {where: \"") + rule.index(at) + 1
    assert (found[0].span.line, found[0].span.column) == (line, column), found[0]


def test_sequences_a_rank_read_through_entity_is_rejected_at_validate_but_a_sequence_runs(duckdb_con):
    """What validate accepts, run runs: an aggregate may read a sequence feature through entity.,
    not a population rank (SR433, at the line of entity.NAME)."""
    con = duckdb_con
    names = _tables(con)
    text = SPEC.format(**names).replace("segments:\n", """\
  rank: percent_rank(count(events))
segments:
  reads_rank: {where: "count(orders where entity.rank > 0.5) > 0"}
""")
    with pytest.raises(SegrulesError) as info:
        segrules.load_text(text, "seq.yaml").check(con)
    (found,) = [d for d in info.value.diagnostics if d.code == "SR433"]
    assert found.span.line == text.splitlines().index(
        next(li for li in text.splitlines() if "reads_rank" in li)) + 1
    ok = SPEC.format(**names).replace("segments:\n", """\
segments:
  after_funnel: {where: "count(orders where entity.funnel >= 2 and status == 'paid') > 0"}
""")
    wide = segrules.load_text(ok, "seq.yaml").evaluate(con, as_of=NOW).to_pyarrow().to_pylist()
    members = {r["id"] for r in wide if r["after_funnel"]}
    paid = {i for i, rows in ORDERS.items() if any(s == "paid" and t <= NOW for t, s in rows)}
    assert members == {i for i in paid if EXPECTED[i][0] >= 2}


def test_sequences_time_between_as_a_feature_says_to_compare_it():
    text = SPEC.format(c="c", e="e", o="o").replace(
        "  any_then_order:", "  ttc: time_between(events then orders)\n  any_then_order:") + """\
schema:
  c: {id: int64}
  e: {id: int64, ts: timestamp, name: string}
  o: {id: int64, at: timestamp, status: string}
"""
    with pytest.raises(SegrulesError) as info:
        segrules.load_text(text, "seq.yaml").check()
    (found,) = [d for d in info.value.diagnostics if d.code == "SR413"]
    assert "time_between() is a duration" in found.message and "<= 1d" in found.hint
    assert found.span.line == next(i for i, li in enumerate(text.splitlines(), 1) if li.startswith("  ttc:"))
