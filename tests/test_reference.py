"""Hand-computed checks of the reference evaluator (tests/reference.py) on ASTs built directly.

The reference is the oracle of the differential test, so it gets its own examples, each
worked out by hand from the semantics in its docstring.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from segrules.lang import ast as A

from reference import Context, ReferenceError_, eval_expr, evaluate_rows, evaluate_segments

NOW = datetime(2024, 6, 15, 12, 0, 0)  # a Saturday


def n(v):
    return A.Number(Decimal(str(v)) if isinstance(v, float) else v)


def s(v):
    return A.String(v)


def name(v):
    return A.Name(v)


T, F, NULL = A.Boolean(True), A.Boolean(False), A.Null()


def ev(node, row=None, **kw):
    return eval_expr(node, Context(NOW, row or {}, **kw))


# --- three-valued logic -------------------------------------------------------------------
@pytest.mark.parametrize(
    "left, right, and_, or_",
    [
        (T, T, True, True), (T, F, False, True), (F, F, False, False),
        (T, NULL, None, True), (F, NULL, False, None), (NULL, NULL, None, None),
        (NULL, F, False, None), (NULL, T, None, True),
    ],
)
def test_reference_kleene_and_or(left, right, and_, or_):
    assert ev(A.And((left, right))) is and_
    assert ev(A.Or((left, right))) is or_


def test_reference_not_of_null_is_null():
    assert ev(A.Not(NULL)) is None
    assert ev(A.Not(T)) is False


@pytest.mark.parametrize("op", A.COMPARE_OPS)
def test_reference_compare_with_null_is_null(op):
    assert ev(A.Compare(op, n(1), NULL)) is None
    assert ev(A.Compare(op, NULL, s("a"))) is None


@pytest.mark.parametrize(
    "x, items, expected",
    [
        (n(1), (n(1), n(2)), True),
        (n(3), (n(1), n(2)), False),
        (n(3), (n(1), NULL), None),  # no match, but an unknown item
        (n(1), (n(1), NULL), True),  # a match wins over the unknown item
        (NULL, (n(1), n(2)), None),
    ],
)
def test_reference_in_list(x, items, expected):
    assert ev(A.InList(x, items)) is expected
    assert ev(A.InList(x, items, negated=True)) is (None if expected is None else not expected)


@pytest.mark.parametrize(
    "x, lo, hi, expected",
    [
        (n(2), n(1), n(3), True), (n(1), n(1), n(3), True), (n(3), n(1), n(3), True),
        (n(4), n(1), n(3), False), (NULL, n(1), n(3), None),
        (n(0), NULL, n(3), None),  # unknown low bound, 0 <= 3 holds: unknown
        (n(4), NULL, n(3), False),  # 4 <= 3 is false whatever the low bound
    ],
)
def test_reference_between(x, lo, hi, expected):
    assert ev(A.Between(x, lo, hi)) is expected
    assert ev(A.Between(x, lo, hi, negated=True)) is (None if expected is None else not expected)


def test_reference_is_null_is_never_null():
    assert ev(A.IsNull(NULL)) is True
    assert ev(A.IsNull(NULL, negated=True)) is False
    assert ev(A.IsNull(n(0))) is False
    assert ev(A.IsNull(s(""), negated=True)) is True


# --- arithmetic ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "op, a, b, expected",
    [
        ("+", 2, 3, 5), ("-", 2, 3, -1), ("*", 2, 3, 6), ("/", 7, 2, 3.5), ("/", 6, 3, 2.0),
        ("%", 7, 3, 1), ("%", -7, 3, -1), ("%", 7, -3, 1), ("%", -7, -3, -1),
        ("%", -7.5, 2, -1.5), ("%", 7.5, -2, 1.5),
        ("/", 1, 0, None), ("%", 1, 0, None), ("/", 1.5, 0, None),
        ("+", 1, None, None), ("*", None, 2, None),
    ],
)
def test_reference_arith(op, a, b, expected):
    node = A.BinOp(op, NULL if a is None else n(a), NULL if b is None else n(b))
    got = ev(node)
    assert got == expected and type(got) is type(expected)


def test_reference_integer_ops_stay_integer():
    assert type(ev(A.BinOp("*", n(2), n(3)))) is int
    assert type(ev(A.BinOp("+", n(2), n(0.5)))) is float
    assert type(ev(A.BinOp("/", n(4), n(2)))) is float


def test_reference_time_arithmetic():
    d30 = A.Duration(30, "d")
    assert ev(A.BinOp("-", A.Now(), d30)) == NOW - timedelta(days=30)
    assert ev(A.BinOp("-", A.Today(), A.Duration(1, "w"))) == date(2024, 6, 8)
    assert ev(A.BinOp("+", A.Today(), A.Duration(3, "h"))) == datetime(2024, 6, 15, 3)
    assert ev(A.BinOp("-", NULL, d30)) is None


def test_reference_date_compares_as_midnight():
    at_noon = {"t": datetime(2024, 6, 15, 12)}
    assert ev(A.Compare(">", name("t"), A.Today()), at_noon) is True
    midnight = {"t": datetime(2024, 6, 15)}
    assert ev(A.Compare("==", name("t"), A.Today()), midnight) is True
    assert ev(A.Compare("<", A.Today(), A.Now())) is True


# --- scalar functions ---------------------------------------------------------------------
def call(fn, *args):
    return A.Call(fn, tuple(args))


@pytest.mark.parametrize(
    "node, expected",
    [
        (call("lower", s("AbC")), "abc"), (call("upper", s("aé")), "AÉ"),
        (call("trim", s("  a b  ")), "a b"), (call("length", s("aé ")), 3),
        (call("contains", s("a%b"), s("%")), True), (call("contains", s("ab"), s("_")), False),
        (call("starts_with", s("abc"), s("ab")), True), (call("ends_with", s("abc"), s("b")), False),
        (call("matches", s("xaby"), s("a.")), True), (call("matches", s("xaby"), s("^a")), False),
        (call("coalesce", NULL, NULL, n(3), n(4)), 3), (call("coalesce", NULL, NULL), None),
        (call("abs", n(-2.5)), 2.5), (call("round", n(2.5)), 3.0), (call("round", n(-2.5)), -3.0),
        (call("round", n(0.125), n(2)), 0.13), (call("round", n(-1.25), n(1)), -1.3),
        (call("round", n(7)), 7),
        (call("least", n(3), NULL, n(1)), 1), (call("greatest", n(3), NULL, n(1)), 3),
        (call("least", NULL, NULL), None),
        (call("lower", NULL), None), (call("contains", s("a"), NULL), None),
        (call("abs", NULL), None), (call("round", NULL), None), (call("days_since", NULL), None),
    ],
)
def test_reference_scalar_functions(node, expected):
    got = ev(node)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    "t, days, hours",
    [
        (datetime(2024, 6, 15, 12), 0, 0),
        (datetime(2024, 6, 14, 12), 1, 24),
        (datetime(2024, 6, 14, 12, 0, 1), 0, 23),  # 23:59:59 ago: floor
        (date(2024, 6, 14), 1, 36),  # a date is its midnight
        (datetime(2024, 6, 15, 13), -1, -1),  # one hour in the future: floor of -1/24 days
    ],
)
def test_reference_days_and_hours_since(t, days, hours):
    row = {"t": t}
    assert ev(call("days_since", name("t")), row) == days
    assert ev(call("hours_since", name("t")), row) == hours


@pytest.mark.parametrize(
    "unit, expected",
    [
        ("year", datetime(2024, 1, 1)), ("quarter", datetime(2024, 4, 1)),
        ("month", datetime(2024, 5, 1)), ("week", datetime(2024, 5, 13)),  # ISO Monday
        ("day", datetime(2024, 5, 19)), ("hour", datetime(2024, 5, 19, 17)),
        ("minute", datetime(2024, 5, 19, 17, 42)),
    ],
)
def test_reference_date_trunc(unit, expected):
    row = {"t": datetime(2024, 5, 19, 17, 42, 31), "d": date(2024, 5, 19)}  # a Sunday
    assert ev(call("date_trunc", s(unit), name("t")), row) == expected
    on_date = ev(call("date_trunc", s(unit), name("d")), row)
    if unit in ("hour", "minute"):  # a date has no hours: its midnight timestamp
        assert on_date == datetime(2024, 5, 19)
    else:  # a date stays a date
        assert type(on_date) is date and on_date == expected.date()


# --- aggregates ---------------------------------------------------------------------------
SPEC_BASE = {
    "version": 1,
    "name": "t",
    "entity": {"table": "people", "key": "id"},
    "sources": {"txns": {"table": "txns", "key": "id", "time": "at"}},
}
H = timedelta(hours=1)
TABLES = {
    "people": [{"id": 1, "age": 30}, {"id": 2, "age": None}, {"id": 3, "age": 5}],
    "txns": [
        {"id": 1, "at": NOW - 50 * 24 * H, "amount": 10.0, "kind": "a"},
        {"id": 1, "at": NOW - 30 * 24 * H, "amount": 2.5, "kind": "b"},  # exactly 30d: not within 30d
        {"id": 1, "at": NOW - 2 * H, "amount": None, "kind": "a"},
        {"id": 1, "at": NOW, "amount": 1.0, "kind": None},  # exactly now: counts
        {"id": 1, "at": NOW + H, "amount": 100.0, "kind": "a"},  # the future: never counts
        {"id": 1, "at": None, "amount": 1000.0, "kind": "a"},  # no time: never counts
        {"id": 2, "at": NOW - 24 * H, "amount": None, "kind": None},
        {"id": 9, "at": NOW - H, "amount": 5.0, "kind": "a"},  # no such person
    ],
}


def agg(func, column=None, where=None, window=None):
    return A.Aggregate(func, "txns", column, where, window)


def feature_values(**features):
    spec = dict(SPEC_BASE, features=features)
    rows = evaluate_rows(spec, TABLES, NOW)
    return {k: {f: v[f] for f in features} for k, v in rows.items()}


def test_reference_aggregates_whole_history():
    got = feature_values(
        n_rows=agg("count"), n_amount=agg("count", "amount"), n_kinds=agg("count_distinct", "kind"),
        total=agg("sum", "amount"), mean=agg("avg", "amount"), lo=agg("min", "amount"),
        hi=agg("max", "amount"), first=agg("first", "amount"), last=agg("last", "kind"),
    )
    # last(kind): the latest row (at now) has no kind, so the one before it (2h ago)
    assert got[1] == dict(n_rows=4, n_amount=3, n_kinds=2, total=13.5, mean=4.5, lo=1.0,
                          hi=10.0, first=10.0, last="a")
    # person 2: one row whose values are all null; sum of nothing is 0, avg/min/max null
    assert got[2] == dict(n_rows=1, n_amount=0, n_kinds=0, total=0, mean=None, lo=None,
                          hi=None, first=None, last=None)
    # person 3: no rows at all
    assert got[3] == dict(n_rows=0, n_amount=0, n_kinds=0, total=0, mean=None, lo=None,
                          hi=None, first=None, last=None)


def test_reference_aggregate_windows_and_where():
    within_30d = A.Within(A.Duration(30, "d"))
    got = feature_values(
        recent=agg("count", window=within_30d),
        recent_a=agg("count", where=A.Compare("==", name("kind"), s("a")), window=within_30d),
        dotted=agg("sum", "amount", where=A.Compare(">", A.Dotted("txns", "amount"), n(2))),
        ranged=agg("count", window=A.TimeRange(A.BinOp("-", A.Now(), A.Duration(30, "d")),
                                                A.BinOp("-", A.Now(), A.Duration(1, "h")))),
        null_bound=agg("count", window=A.TimeRange(NULL, A.Now())),
        first_recent=agg("first", "kind", window=within_30d),
        first_amount_recent=agg("first", "amount", window=within_30d),  # skips the null 2h ago
    )
    assert got[1] == dict(recent=2, recent_a=1, dotted=12.5, ranged=2, null_bound=0,
                          first_recent="a", first_amount_recent=1.0)


def test_reference_where_sees_only_source_columns():
    spec = dict(SPEC_BASE, features={"bad": agg("count", where=A.Compare(">", name("age"), n(1)))})
    with pytest.raises(ReferenceError_, match="not a column of source"):
        evaluate_rows(spec, TABLES, NOW)


# --- segments -----------------------------------------------------------------------------
def test_reference_segments_null_rule_is_no_match_and_refs_are_boolean():
    spec = dict(
        SPEC_BASE,
        features={"spent": agg("sum", "amount")},
        segments={
            "adult": {"where": A.Compare(">=", name("age"), n(18))},
            "not_adult": {"where": A.Not(A.SegmentRef("adult"))},
            "unknown_age": {"where": A.Not(A.Compare(">=", name("age"), n(18)))},
            "big": {"where": A.And((A.SegmentRef("adult"), A.Compare(">", name("spent"), n(10))))},
        },
    )
    got = evaluate_segments(spec, TABLES, NOW)
    assert got == {
        "adult": {1},
        "not_adult": {2, 3},  # person 2's age is null: not adult, so not_adult (never null)
        "unknown_age": {3},  # not (null >= 18) is null: no match
        "big": {1},
    }


def test_reference_segment_cycle_is_an_error():
    spec = dict(SPEC_BASE, segments={"a": {"where": A.SegmentRef("b")},
                                     "b": {"where": A.SegmentRef("a")}})
    with pytest.raises(ReferenceError_, match="cycle"):
        evaluate_segments(spec, TABLES, NOW)


def test_reference_entity_time_leaves_out_future_and_unplaced_entities():
    people = [{"id": 1, "t": NOW - H}, {"id": 2, "t": NOW}, {"id": 3, "t": NOW + H}, {"id": 4, "t": None}]
    spec = dict(SPEC_BASE, entity={"table": "people", "key": "id", "time": "t"},
                segments={"all": {"where": T}})
    assert evaluate_segments(spec, dict(TABLES, people=people), NOW) == {"all": {1, 2}}
