"""Differential test of issue 11's behavioural rules: segrules on DuckDB and PostgreSQL against
the plain-Python reference (tests/reference_behaviour.py), row by row.

Random small shops (tests/strategies_behaviour.py: ties in time, NULL keys/times/values, two
sources, ±1 µs around window and convert edges, month ends, leap days, empty populations) go
into the database; a spec with the construct as features and segments goes through
``segrules.load_text(...).evaluate(con, as_of=NOW)``; every value must equal the reference's.
A mismatch names the entity, the expression, both values and the entity's rows.

The backends, loading and comparing live in tests/behaviour_harness.py.
"""

from __future__ import annotations

import pytest
from hypothesis import strategies as st

from behaviour_harness import EMPTY, check, run_property
from reference import compare as ref_compare
from reference_behaviour import (Rolling, Step, add_months, bucket, days_between, hours_between,
                                 in_window, ntile, percent_rank, relative_aggregate, sequence,
                                 time_between, top_n)
from strategies_behaviour import (CONVERTS, D, H, NOW, RANKED, SEQ_AB, SOURCES, duration_text,
                                  population, rank_cases, relative_or_fixed_cases, sequence_cases, shops,
                                  seq_ab, spec, with_funnels)

pytestmark = pytest.mark.differential


# --- sequences ----------------------------------------------------------------------------
def test_differential_behaviour_sequence(shop_backend):
    name, con = shop_backend

    def body(example, entity_time):
        cases, data = example
        features = {f"q{i}": c.text() for i, c in enumerate(cases)}
        segments = {f"q{i}_all": f"{c.text()} == {len(c.steps)}" for i, c in enumerate(cases)}
        expected = {}
        for e in population(data, entity_time):
            values = {f"q{i}": sequence(*_args(c, e["id"], data)) for i, c in enumerate(cases)}
            expected[e["id"]] = {**values, **{f"q{i}_all": values[f"q{i}"] == len(c.steps)
                                              for i, c in enumerate(cases)}}
        check(con, spec(features, segments, entity_time), data, expected)

    run_property(name, body, example=with_funnels(st.lists(sequence_cases(), min_size=1, max_size=3)),
                 entity_time=st.booleans())


TB_LIMITS = [H, D, 3 * D, 7 * D]
TB_OPS = {"<=": lambda t, limit: t <= limit, "<": lambda t, limit: t < limit,
          ">=": lambda t, limit: t >= limit,
          f"between {duration_text(H)} and": lambda t, limit: H <= t <= limit}


def test_differential_behaviour_time_between(shop_backend):
    """A duration is no feature value (SR413), so time_between is seen through comparisons
    with durations on and around its value, and ``is null``."""
    name, con = shop_backend

    def body(example, tests, entity_time):
        cases, data = example
        segments, checks = {}, []
        for i, c in enumerate(cases):
            segments[f"t{i}_none"] = f"{c.text('time_between')} is null"
            checks.append((f"t{i}_none", i, None, None))
            for j, (op, limit) in enumerate(tests):
                segments[f"t{i}_{j}"] = f"{c.text('time_between')} {op} {duration_text(limit)}"
                checks.append((f"t{i}_{j}", i, op, limit))
        expected = {}
        for e in population(data, entity_time):
            values = [time_between(*_args(c, e["id"], data)) for c in cases]
            expected[e["id"]] = {
                seg: values[i] is None if op is None else values[i] is not None and TB_OPS[op](values[i], limit)
                for seg, i, op, limit in checks}
        check(con, spec({}, segments, entity_time), data, expected)

    test = st.tuples(st.sampled_from(sorted(TB_OPS)), st.sampled_from(TB_LIMITS))
    run_property(name, body, example=with_funnels(st.lists(sequence_cases(), min_size=1, max_size=2)),
                 tests=st.lists(test, min_size=1, max_size=3), entity_time=st.booleans())


def _args(case, key, data) -> tuple:
    """The reference's arguments for a sequence case on entity ``key``."""
    steps, convert, window = case.args()
    return steps, key, data, NOW, convert, window


# --- aggregates relative to the entity ----------------------------------------------------
def test_differential_behaviour_entity_relative(shop_backend):
    name, con = shop_backend

    def body(data, cases, entity_time):
        features = {"seq_ab": SEQ_AB, **{f"r{i}": c.text() for i, c in enumerate(cases)}}
        segments = {f"r{i}_any": f"{c.text()} >= 1" for i, c in enumerate(cases)}
        expected = {}
        for e in population(data, entity_time):
            e["seq_ab"] = seq_ab(e, data)
            row = {"last_cart_at": e["last_cart_at"], "first_order_at": e["first_order_at"], "seq_ab": e["seq_ab"]}
            for i, c in enumerate(cases):
                row[f"r{i}"] = c.value(e, data)
                row[f"r{i}_any"] = row[f"r{i}"] >= 1
            expected[e["id"]] = row
        check(con, spec(features, segments, entity_time), data, expected)

    run_property(name, body, data=shops(), cases=st.lists(relative_or_fixed_cases(), min_size=1, max_size=4),
                 entity_time=st.booleans())


# --- ranks over the population ------------------------------------------------------------
RANK_FUNCS = {"percent_rank": lambda values, n: percent_rank(values),
              "ntile": ntile, "top_n": top_n}


def test_differential_behaviour_population_ranks(shop_backend):
    name, con = shop_backend

    def body(data, cases, entity_time):
        features = {f"k{i}": c.text() for i, c in enumerate(cases) if c.func != "top_n"}
        segments = {f"k{i}": c.text() for i, c in enumerate(cases) if c.func == "top_n"}
        segments.update({f"k{i}_half": f"{c.text()} >= 0.5"
                         for i, c in enumerate(cases) if c.func == "percent_rank"})
        people = population(data, entity_time)
        expected = {e["id"]: {} for e in people}
        for i, c in enumerate(cases):
            values = {e["id"]: RANKED[c.expr](e, data) for e in people}
            for key, v in RANK_FUNCS[c.func](values, c.n).items():
                expected[key][f"k{i}"] = v
                if c.func == "percent_rank":
                    expected[key][f"k{i}_half"] = v is not None and v >= 0.5
        params = {c.param: c.n for c in cases if c.param}
        check(con, spec(features, segments, entity_time, params), data, expected)

    run_property(name, body, data=shops(), cases=st.lists(rank_cases(), min_size=1, max_size=4),
                 entity_time=st.booleans())


def test_differential_behaviour_ranks_of_an_empty_population(shop_backend):
    """No entity at all, and entities that all start after now: no rows, no error."""
    _, con = shop_backend
    features = {"k0": "percent_rank(ltv)", "k1": "ntile(sum(orders.amount), 3)"}
    segments = {"k2": "top_n(count(orders), 1)"}
    check(con, spec(features, segments, False), EMPTY, {})
    later = dict(EMPTY, customers=[{"id": 1, "signup_at": NOW + H, "ltv": 1.0, "code": None, "birth": None}],
                 orders=[{"cid": 1, "ordered_at": NOW - H, "status": "paid", "amount": 5.0}])
    check(con, spec(features, segments, True), later, {})


# --- scalars ------------------------------------------------------------------------------
SALTS = ["campaign-7", "", "é", "a:b"]


def test_differential_behaviour_bucket(shop_backend):
    name, con = shop_backend

    def body(data, salts, ns):
        features = {"b0": f"bucket(id, '{salts[0]}', {ns[0]})", "b1": f"bucket(code, '{salts[1]}', {ns[1]})"}
        expected = {e["id"]: {"b0": bucket(e["id"], salts[0], ns[0]), "b1": bucket(e["code"], salts[1], ns[1])}
                    for e in population(data, False)}
        check(con, spec(features, {}, False), data, expected)

    pair = lambda s: st.lists(s, min_size=2, max_size=2)  # noqa: E731
    run_property(name, body, data=shops(), salts=pair(st.sampled_from(SALTS)),
                 ns=pair(st.sampled_from([1, 2, 10, 97, 1000])))


def test_differential_behaviour_add_months(shop_backend):
    name, con = shop_backend

    def body(data, months, entity_time):
        features = {f"m{i}": f"add_months(signup_at, {n})" for i, n in enumerate(months)}
        features["mb"] = f"add_months(birth, {months[0]})"
        segments = {"m_before_now": f"add_months(signup_at, {months[0]}) < now"}
        expected = {}
        for e in population(data, entity_time):
            row = {f"m{i}": add_months(e["signup_at"], n) for i, n in enumerate(months)}
            row["mb"] = add_months(e["birth"], months[0])
            row["m_before_now"] = ref_compare("<", row["m0"], NOW) is True
            expected[e["id"]] = row
        check(con, spec(features, segments, entity_time), data, expected)

    run_property(name, body, data=shops(month_ends=True), entity_time=st.booleans(),
                 months=st.lists(st.sampled_from([-13, -12, -1, 0, 1, 2, 12, 13, 48]), min_size=1, max_size=3))


BETWEEN_ARGS = ["signup_at", "last_cart_at", "birth", "now"]
BETWEEN_FUNCS = {"days_between": days_between, "hours_between": hours_between}


def test_differential_behaviour_days_and_hours_between(shop_backend):
    name, con = shop_backend

    def body(data, calls):
        features = {f"d{i}": f"{fn}({a}, {b})" for i, (fn, a, b) in enumerate(calls)}
        segments = {f"d{i}_neg": f"{fn}({a}, {b}) < 0" for i, (fn, a, b) in enumerate(calls)}
        expected = {}
        for e in population(data, False):
            view = dict(e, now=NOW)
            row = {f"d{i}": BETWEEN_FUNCS[fn](view[a], view[b]) for i, (fn, a, b) in enumerate(calls)}
            row.update({f"d{i}_neg": row[f"d{i}"] is not None and row[f"d{i}"] < 0 for i in range(len(calls))})
            expected[e["id"]] = row
        check(con, spec(features, segments, False), data, expected)

    call = st.tuples(st.sampled_from(sorted(BETWEEN_FUNCS)), st.sampled_from(BETWEEN_ARGS),
                     st.sampled_from(BETWEEN_ARGS))
    run_property(name, body, data=shops(month_ends=True), calls=st.lists(call, min_size=1, max_size=4))


# --- duration parameters ------------------------------------------------------------------
def test_differential_behaviour_duration_params(shop_backend):
    name, con = shop_backend

    def body(data, declared, override, entity_time):
        features = {"p0": "count(events within $recent)",
                    "p1": "sequence(events where name == 'a' then orders convert $recent)",
                    "p3": "sequence(events then orders where status == 'paid' within $recent)"}
        segments = {"p2": "signup_at > now - $recent"}
        recent = override or declared
        expected = {}
        cart = Step(SOURCES["events"], lambda r: ref_compare("==", r["name"], "a"))
        paid = Step(SOURCES["orders"], lambda r: ref_compare("==", r["status"], "paid"))
        for e in population(data, entity_time):
            expected[e["id"]] = {
                "p0": relative_aggregate("count", None, SOURCES["events"], e, e["id"], data, NOW,
                                         where=lambda r, _: in_window(r["ts"], Rolling(recent), NOW)),
                "p1": sequence([cart, Step(SOURCES["orders"])], e["id"], data, NOW, convert=recent),
                "p3": sequence([Step(SOURCES["events"]), paid], e["id"], data, NOW, window=Rolling(recent)),
                "p2": ref_compare(">", e["signup_at"], NOW - recent) is True}
        params = {"recent": duration_text(override)} if override else None
        check(con, spec(features, segments, entity_time, {"recent": duration_text(declared)}),
              data, expected, params)

    durations = st.sampled_from([*CONVERTS, 30 * D])
    run_property(name, body, data=shops(), declared=durations, override=st.one_of(st.none(), durations),
                 entity_time=st.booleans())


# --- what the ranks rank -----------------------------------------------------------------
def test_differential_behaviour_rank_inputs(shop_backend):
    """The inputs of the rank tests and the ``entity.`` anchors as plain feature values (so a
    rank mismatch can be told from a mismatch of what is ranked)."""
    name, con = shop_backend
    inputs = [expr for expr in RANKED if "(" in expr]

    def body(data, entity_time):
        features = {f"a{i}": expr for i, expr in enumerate(inputs)}
        expected = {}
        for e in population(data, entity_time):
            row = {f"a{i}": RANKED[expr](e, data) for i, expr in enumerate(inputs)}
            expected[e["id"]] = dict(row, last_cart_at=e["last_cart_at"], first_order_at=e["first_order_at"])
        check(con, spec(features, {}, entity_time), data, expected)

    run_property(name, body, data=shops(), entity_time=st.booleans())
