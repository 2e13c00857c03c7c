"""Garbage in, SegrulesError out: no input a user can write makes segrules crash.

(i)  arbitrary text, token soups and random (often ill-typed) trees into ``parse_expr``,
     and those expressions placed in an otherwise valid spec through check and compile;
(ii) arbitrary YAML-ish text and random mutations of a valid spec (lines deleted,
     duplicated, swapped; characters inserted; keys renamed; values replaced by lists, maps,
     numbers) through ``load_text`` -> ``check`` -> ``compile`` -> ``to_sql``.

Every exception must be a :class:`segrules.errors.SegrulesError`, every diagnostic span must
point into the text (line >= 1, column >= 1, line within the file) and rendering must work.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any, Callable

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from segrules.errors import SegrulesError
from segrules.lang import ast as A

from strategies_rules import to_text

SETTINGS = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

VALID_SPEC = """\
version: 1
name: garbage
entity: {table: people, key: id}
sources:
  txns: {table: txns, key: id, time: at}
params:
  limit: 5
features:
  spent: sum(txns.amount)
  last_at: max(txns.at)
segments:
  adults:
    description: grown-ups
    where: age >= 18 and country in ('US', 'FR')
  buyers:
    where: >
      count(txns where kind == 'a' within 30d) > $limit
      and spent > 10
  both:
    where: segment('adults') and segment('buyers') or days_since(last_at) < 7
schema:
  people: {id: int64, age: int64, score: float64, name: string, country: string,
           joined_at: timestamp, active: boolean}
  txns: {id: int64, at: timestamp, amount: float64, kind: string}
"""


def _parse_expr() -> Callable[[str], A.Node]:
    try:
        from segrules.lang import parse_expr
    except ImportError:
        pytest.skip("segrules.lang.parse_expr is not written yet")
    return parse_expr


def _load_text():
    import segrules

    if not hasattr(segrules, "load_text"):
        pytest.skip("segrules.load_text is not written yet")
    return segrules.load_text


def assert_good_error(exc: Exception, text: str, what: str) -> None:
    if not isinstance(exc, SegrulesError):
        raise AssertionError(
            f"{what} raised {type(exc).__name__}, not a SegrulesError, on input:\n{text!r}"
        ) from exc
    lines = max(1, len(text.splitlines()) + 1)
    for d in exc.diagnostics:
        span = d.span
        if span is None:
            continue
        assert span.line >= 1 and span.column >= 1, f"{what}: bad span {span} in {d} for {text!r}"
        if span.file in ("<string>", "<expr>", None):
            assert span.line <= lines, f"{what}: span {span} past the end of the text {text!r}"
    exc.render({"<string>": text})  # the one renderer must cope with any diagnostic


def run_parse(text: str) -> A.Node | None:
    parse_expr = _parse_expr()
    try:
        node = parse_expr(text)
    except Exception as exc:  # noqa: BLE001 - the point is to catch everything
        assert_good_error(exc, text, "parse_expr")
        return None
    assert isinstance(node, A.Node), f"parse_expr returned {node!r}"
    return node


def run_spec(text: str) -> None:
    """load -> validate -> check -> compile -> to_sql, offline (the spec's schema: block).
    ``validate`` must not raise for a problem in the spec: it returns the diagnostics."""
    load_text = _load_text()
    try:
        spec = load_text(text)
    except Exception as exc:  # noqa: BLE001
        assert_good_error(exc, text, "load_text")
        return
    found = spec.validate()  # raising anything here fails the test with its traceback
    if found:
        assert_good_error(SegrulesError(diagnostics=found), text, "validate")
    step = "check"
    try:
        spec.check()
        step = "compile"
        spec.compile()
        step = "to_sql"
        spec.to_sql()
    except Exception as exc:  # noqa: BLE001
        assert_good_error(exc, text, step)


# --- (i) expressions ----------------------------------------------------------------------
TOKENS = [
    "and", "or", "not", "in", "between", "is", "null", "true", "false", "where", "within",
    "now", "today", "(", ")", ",", ".", "==", "!=", "<", "<=", ">", ">=", "=", "+", "-", "*",
    "/", "%", "'a'", '"b"', "'", '"', "'\\'", "1", "0", "2.5", "1.", ".5", "30d", "3x", "1.5h",
    "99999999999999999999999999", "$p", "$", "$in", "age", "txns", "txns.amount", "amount",
    "count", "sum", "avg", "first", "segment", "date", "timestamp", "lower", "round",
    "days_since", "date_trunc", "'2024-13-45'", "#", "\n", "\t", "é", "\x00", "\\", ";", "[",
]


@SETTINGS
@given(st.text(max_size=60))
def test_garbage_parse_expr_arbitrary_text(text):
    run_parse(text)


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join))
def test_garbage_parse_expr_token_soup(text):
    run_parse(text)


@pytest.mark.parametrize("text", [
    "(" * 3000 + "1" + ")" * 3000,
    "not " * 3000 + "true",
    "-" * 3000 + "1",
    " + ".join(["1"] * 3000),
    " and ".join(["true"] * 3000),
    "coalesce(" * 500 + "1" + ")" * 500,
], ids=["parens", "nots", "negs", "sum", "ands", "calls"])
def test_garbage_parse_expr_deep_nesting(text):
    run_parse(text)


# random trees: mostly ill-typed, always printable
NAMES = ["age", "score", "name", "joined_at", "active", "nope", "txns", "spent", "adults", "id"]
FUNCS = ["lower", "length", "contains", "matches", "coalesce", "round", "least", "days_since",
         "date_trunc", "count", "sum", "first", "segment", "date", "timestamp", "nope"]
LEAVES = st.one_of(
    st.integers(0, 10**30).map(A.Number),
    st.sampled_from(["0.5", "1e3", "0.000"]).map(lambda s: A.Number(Decimal(s))),
    st.sampled_from(["", "a", "[", "(?P<", "2024-02-30", "2024-01-01", "week", "x y"]).map(A.String),
    st.builds(A.Boolean, st.booleans()), st.just(A.Null()), st.just(A.Now()), st.just(A.Today()),
    st.builds(A.Duration, st.integers(0, 10**6), st.sampled_from(["s", "min", "h", "d", "w"])),
    st.sampled_from(["limit", "nope"]).map(A.Param),
    st.sampled_from(NAMES).map(A.Name),
    st.builds(A.Dotted, st.sampled_from(["txns", "people", "x"]), st.sampled_from(["amount", "at", "y"])),
    st.sampled_from(["adults", "buyers", "both", "nope", "x y"]).map(A.SegmentRef),
)


def _trees(children):
    pair = st.tuples(children, children)
    return st.one_of(
        st.builds(A.Not, children), st.builds(A.Neg, children),
        pair.map(lambda p: A.And(tuple(p))), pair.map(lambda p: A.Or(tuple(p))),
        st.builds(A.Compare, st.sampled_from(A.COMPARE_OPS), children, children),
        st.builds(A.BinOp, st.sampled_from(A.ARITH_OPS), children, children),
        st.builds(A.InList, children, st.lists(children, min_size=1, max_size=3).map(tuple), st.booleans()),
        st.builds(A.Between, children, children, children, st.booleans()),
        st.builds(A.IsNull, children, st.booleans()),
        st.builds(A.Call, st.sampled_from(FUNCS), st.lists(children, max_size=3).map(tuple)),
        st.builds(
            A.Aggregate, st.sampled_from(A.AGGREGATE_FUNCS), st.sampled_from(["txns", "people", "nope"]),
            st.sampled_from([None, "amount", "at", "kind", "nope"]), st.none() | children,
            st.none() | st.builds(A.Within, st.builds(A.Duration, st.integers(0, 100), st.just("d")))
            | st.builds(A.TimeRange, children, children)
            | st.builds(A.CalendarWindow, st.sampled_from(A.CALENDAR_PERIODS), st.sampled_from(A.CALENDAR_UNITS)),
        ),
    )


TREES = st.recursive(LEAVES, _trees, max_leaves=12)


def _spec_with(where: str, feature: str = "sum(txns.amount)") -> str:
    data = yaml.safe_load(VALID_SPEC)
    data["segments"]["weird"] = {"where": where}
    data["features"]["odd"] = feature
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@SETTINGS
@given(TREES)
def test_garbage_random_trees_through_check_and_compile(tree):
    text = to_text(tree)
    node = run_parse(text)
    assume(node is not None)
    run_spec(_spec_with(text))
    run_spec(_spec_with("true", feature=text))


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join))
def test_garbage_token_soup_inside_a_spec(soup):
    run_spec(_spec_with(soup))


# --- (ii) specs ---------------------------------------------------------------------------
YAML_CHARS = st.sampled_from(list(":-{}[],'\"#&*!|>%@` \t\n?~=$.") + ["é", "\x00", "\ufeff", "a", "1"])


@SETTINGS
@given(st.text(YAML_CHARS, max_size=80) | st.text(max_size=80))
def test_garbage_load_text_arbitrary_yamlish(text):
    run_spec(text)


@st.composite
def text_mutations(draw) -> str:
    lines = VALID_SPEC.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "duplicate", "swap", "insert", "replace"]))
        i = draw(st.integers(0, max(0, len(lines) - 1)))
        if not lines:
            break
        if op == "delete":
            del lines[i]
        elif op == "duplicate":
            lines.insert(i, lines[i])
        elif op == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            line = lines[i]
            at = draw(st.integers(0, len(line)))
            junk = draw(st.text(YAML_CHARS, min_size=1, max_size=3))
            cut = at + (draw(st.integers(0, 3)) if op == "replace" else 0)
            lines[i] = line[:at] + junk + line[cut:]
    return "\n".join(lines) + "\n"


@SETTINGS
@given(text_mutations())
def test_garbage_load_text_line_and_char_mutations(text):
    run_spec(text)


WEIRD_VALUES = [None, 0, -1, 2.5, True, "", "x y", "1bad", [], [1, "a"], {}, {"a": 1},
                {"where": "true"}, {"table": "people", "key": "id"}, "2024-01-01", "9" * 40]


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, prefix + (i,))
    return out


@st.composite
def structural_mutations(draw) -> str:
    data = yaml.safe_load(VALID_SPEC)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        op = draw(st.sampled_from(["rename", "replace", "replace", "delete"]))
        if op == "replace" or not isinstance(parent, dict):
            parent[last] = copy.deepcopy(draw(st.sampled_from(WEIRD_VALUES)))  # never shared
        elif op == "delete":
            del parent[last]
        else:
            new = draw(st.sampled_from(["where", "table", "key", "time", "adults", "x-y", "1a",
                                        "spent", "txns", "Version", "schema", ""]))
            parent[new] = parent.pop(last)
    return yaml.safe_dump(data, sort_keys=draw(st.booleans()), allow_unicode=True)


@SETTINGS
@given(structural_mutations())
def test_garbage_load_text_structural_mutations(text):
    run_spec(text)


def test_garbage_valid_spec_is_valid():
    """The seed of the mutations goes all the way through (else they test nothing)."""
    spec = _load_text()(VALID_SPEC)
    spec.check()
    assert "weird" not in spec.segments and spec.compile() is not None
