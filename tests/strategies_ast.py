"""Hypothesis strategies for expression ASTs and for expression-like text.

``expressions()`` draws only ASTs the parser can produce: non-negative numbers (a leading
minus is ``Neg``), Decimals with fractional digits, naive timestamps, identifiers that are
not keywords, no ``Call`` named like an aggregate or ``date``/``timestamp``/``segment``.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from segrules.lang import ast
from segrules.lang.calls import RESERVED_CALL_NAMES
from segrules.lang.lexicon import KEYWORDS

# strings hold no NUL and no lone surrogate: the language refuses them (SR226), no database stores them
_TEXT = st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",))
_WORD = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,7}", fullmatch=True)
identifiers = _WORD.filter(lambda w: w not in KEYWORDS)
call_names = identifiers.filter(lambda w: w not in RESERVED_CALL_NAMES)

decimals = st.builds(
    lambda whole, digits: Decimal(f"{whole}.{digits}"),
    st.integers(0, 10**12),
    st.from_regex(r"[0-9]{1,6}", fullmatch=True),
)
numbers = st.builds(ast.Number, st.integers(0, 10**30) | decimals)
durations = st.builds(ast.Duration, st.integers(0, 10**6), st.sampled_from(sorted(ast.DURATION_SECONDS)))

leaves = st.one_of(
    numbers,
    st.builds(ast.String, st.text(_TEXT)),
    st.builds(ast.Boolean, st.booleans()),
    st.just(ast.Null()),
    st.builds(ast.DateLit, st.dates()),
    # fold only matters with a time zone; literals are naive
    st.builds(ast.TimestampLit, st.datetimes(timezones=st.none()).map(lambda d: d.replace(fold=0))),
    durations,
    st.just(ast.Now()),
    st.just(ast.Today()),
    st.builds(ast.Param, _WORD),
    st.builds(ast.Name, identifiers),
    st.builds(ast.Dotted, identifiers, identifiers),
    st.builds(ast.Dotted, st.just("entity"), identifiers),  # the entity's own value (in aggregates)
    st.builds(ast.SegmentRef, st.text(_TEXT, max_size=12)),
)


def _compound(children: st.SearchStrategy) -> st.SearchStrategy:
    def binary(node_type, ops):
        return st.builds(node_type, st.sampled_from(ops), children, children)

    window = (st.none() | st.builds(ast.Within, durations | st.builds(ast.Param, _WORD))
              | st.builds(ast.Within, durations, ahead=st.just(True))  # `within next 30d` (a model's label)
              | st.builds(ast.TimeRange, children, children)
              | st.builds(ast.CalendarWindow, st.sampled_from(ast.CALENDAR_PERIODS),
                          st.sampled_from(ast.CALENDAR_UNITS)))
    return st.one_of(
        st.builds(ast.Not, children),
        st.builds(ast.Neg, children),
        st.builds(ast.And, st.lists(children, min_size=2, max_size=4).map(tuple)),
        st.builds(ast.Or, st.lists(children, min_size=2, max_size=4).map(tuple)),
        binary(ast.Compare, ast.COMPARE_OPS),
        binary(ast.BinOp, ast.ARITH_OPS),
        st.builds(ast.InList, children, st.lists(children, min_size=1, max_size=3).map(tuple), st.booleans()),
        st.builds(ast.Between, children, children, children, st.booleans()),
        st.builds(ast.IsNull, children, st.booleans()),
        st.builds(ast.Call, call_names, st.lists(children, max_size=3).map(tuple)),
        st.builds(
            ast.Aggregate,
            st.sampled_from(ast.AGGREGATE_FUNCS),
            identifiers,
            st.none() | identifiers,
            st.none() | children,
            window,
        ),
        st.builds(
            ast.Sequence,
            st.sampled_from(ast.SEQUENCE_FUNCS),
            st.lists(st.builds(ast.Step, identifiers, st.none() | children), min_size=2, max_size=4).map(tuple),
            st.none() | durations | st.builds(ast.Param, _WORD),
            window,
        ),
    )


def expressions(max_leaves: int = 25) -> st.SearchStrategy:
    return st.recursive(leaves, _compound, max_leaves=max_leaves)


# --- text ------------------------------------------------------------------------------------
TOKENS = (
    "and", "or", "not", "in", "between", "is", "null", "true", "false", "where", "within", "now",
    "today", "AND", "x", "orders", "orders.amount", "a.b.c", "count", "sum", "segment", "date",
    "timestamp", "first", "f", "1", "0", "12.5", "1.50", "30d", "45s", "12h", "4w", "30min", "30days",
    "1.5h", "'a'", '"b"', "'it\\'s'", "'\\n'", "'", '"', "'2024-01-31'", "'2024-13-01'",
    "'2024-01-31 10:00:00'", "$p", "$", "==", "!=", "<", "<=", ">", ">=", "=", "!", "+", "-", "*",
    "/", "%", "(", ")", ",", ".", "#", "\n", "&&", "@",
)
token_text = st.lists(st.sampled_from(TOKENS), max_size=14).flatmap(
    lambda tokens: st.sampled_from((" ", "")).map(lambda sep: sep.join(tokens))
)
