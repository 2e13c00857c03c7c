"""Column types from how the spec uses the columns, for fixture columns that no row of a test
file shows and no ``schema:`` declares (a table left empty in every case, a column never given).

Deterministic and deliberately simple: a column compared with (or listed against) a literal or
parameter takes its type; one passed to a string function is a string; a time column, or one
passed to ``days_since``/``date_trunc``/``start_of_…``/``add_months``/``days_between``/``hours_between``,
or shifted by a duration, or compared with a time column, or read as ``entity.NAME`` in a time range
bound, is a timestamp; the months of ``add_months`` are int64; ``sum``/``avg`` columns are float64,
and so is a ranked column (``percent_rank(x)``) that nothing else types as a number or time; a bare
column used as a condition is boolean; anything else (a ``bucket`` key too: an integer and its
digits fall in the same bucket) is a string.
"""

from __future__ import annotations

from datetime import date, datetime

import ibis.expr.datatypes as dt

from ..check import parse_expressions
from ..lang import ast as a

STRING_FUNCS = {"lower", "upper", "trim", "length", "contains", "starts_with", "ends_with", "matches"}
TIME_FUNCS = {"days_since", "hours_since", "date_trunc", "start_of_day", "start_of_week", "start_of_month",
              "start_of_quarter", "start_of_year", "days_between", "hours_between"}
RANK_FUNCS = {"percent_rank", "ntile", "top_n"}


def _argument_type(func: str, i: int) -> dt.DataType | None:
    """The type a column passed as argument ``i`` of ``func`` has (None: not known from it)."""
    if func in STRING_FUNCS:
        return dt.string
    if func in TIME_FUNCS or (func == "add_months" and i == 0):
        return dt.timestamp
    return dt.int64 if func == "add_months" else None  # its months


def _literal_type(node: a.Node, params: dict) -> dt.DataType | None:
    if isinstance(node, a.Param) and node.name in params:
        node = params[node.name]
        return (dt.boolean if isinstance(node, bool) else dt.int64 if isinstance(node, int)
                else dt.float64 if isinstance(node, float) else dt.timestamp if isinstance(node, datetime)
                else dt.date if isinstance(node, date) else dt.string)
    if isinstance(node, a.Neg):
        return _literal_type(node.operand, params)
    if isinstance(node, a.BinOp):  # now - 30d, today + 1w, $limit * 2
        left, right = _literal_type(node.left, params), _literal_type(node.right, params)
        return left or right
    if isinstance(node, a.Duration):
        return None
    return {a.String: dt.string, a.Boolean: dt.boolean, a.DateLit: dt.date, a.TimestampLit: dt.timestamp,
            a.Now: dt.timestamp, a.Today: dt.date}.get(type(node)) or (
        (dt.int64 if isinstance(node.value, int) else dt.float64) if isinstance(node, a.Number) else None)


def usage_types(spec) -> dict[str, dict[str, dt.DataType]]:
    """table -> column -> type, for every column the spec's expressions name."""
    m = spec.model
    features, segments, _ = parse_expressions(spec.document)
    found: dict[str, dict[str, dt.DataType]] = {}
    ranked: set[tuple[str, str]] = set()  # columns ranked: float64 unless something else types them

    def note(table: str, column: str, dtype: dt.DataType | None, strong: bool = True):
        current = found.setdefault(table, {})
        if column not in current or (strong and dtype is not None and current[column] == dt.string):
            current[column] = dtype or dt.string

    def column_of(node, source):
        """(table, column) when ``node`` names a column in this scope, else None."""
        if source is not None and isinstance(node, a.Dotted) and node.namespace == "entity":
            # entity.NAME inside an aggregate: the entity's column (a feature is no column)
            return None if node.name in m.features else (m.entity.table, node.name)
        if source is not None:
            if isinstance(node, a.Name):
                return m.sources[source].table, node.name
            if isinstance(node, a.Dotted) and node.namespace == source:
                return m.sources[source].table, node.name
            return None
        if isinstance(node, a.Name) and node.name not in m.features:
            return m.entity.table, node.name
        return None

    def rows_of(source: str, where, column: str | None = None, func: str | None = None):
        """The columns a filter over ``source``'s rows reads (an aggregate, a sequence step)."""
        if source not in m.sources:
            return
        src = m.sources[source]
        note(src.table, src.key, None, strong=False)
        if src.time:
            note(src.table, src.time, dt.timestamp)
        if column:
            note(src.table, column, dt.float64 if func in ("sum", "avg") else None, strong=False)
        if where is not None:
            condition(where, source)

    def visit(node, source):
        while isinstance(node, (a.Not, a.Neg)) and type(node.operand) is type(node):
            node = node.operand  # a run of `not` (or minus) in one step: runs have no length limit
        if isinstance(node, a.Aggregate):
            rows_of(node.source, node.where, node.column, node.func)
            if isinstance(node.window, a.TimeRange):  # bounds are times: entity.NAME too
                for bound in (node.window.start, node.window.end):
                    col = column_of(_shifted(bound), node.source)
                    if col and col[0] == m.entity.table:
                        note(*col, dt.timestamp)
            return
        if isinstance(node, a.Sequence):
            for step in node.steps:
                rows_of(step.source, step.where)
            return
        if isinstance(node, (a.Compare, a.Between, a.InList)):
            operands = [node.left, node.right] if isinstance(node, a.Compare) else (
                [node.operand, node.low, node.high] if isinstance(node, a.Between) else [node.operand, *node.items])
            for operand in operands:
                col = column_of(operand, source)
                if col:
                    types = [t for o in operands if o is not operand and (t := _literal_type(o, m.params))]
                    if not types and any(is_time(o, source) for o in operands if o is not operand):
                        types = [dt.timestamp]  # e.g. entity.signup_at < ordered_at
                    note(*col, types[0] if types else None, strong=bool(types))
                elif _shifted(operand) is not operand and (col := column_of(_shifted(operand), source)):
                    note(*col, dt.timestamp)  # entity.signup_at + 7d: a time
        if isinstance(node, a.Call):
            for i, arg in enumerate(node.args):
                col = column_of(arg, source)
                if col and node.name in RANK_FUNCS and i == 0:
                    ranked.add(col)
                elif col:
                    dtype = _argument_type(node.name, i)
                    note(*col, dtype, strong=dtype is not None)
        logic = isinstance(node, (a.Not, a.And, a.Or))
        for child in node.children():
            condition(child, source) if logic else visit(child, source)

    def is_time(node, source) -> bool:
        """``node`` is a time: the source's time column, or a column shifted by a duration."""
        if _shifted(node) is not node:
            return True
        time = m.sources[source].time if source in m.sources else None
        return time is not None and column_of(node, source) == (m.sources[source].table, time)

    def condition(node, source):
        col = column_of(node, source)
        if col:
            note(*col, dt.boolean)
        visit(node, source)

    for node in features.values():
        visit(node, None)
    for node in segments.values():
        condition(node, None)
    for table, column in ranked:  # a string here is only the fallback (or an error either way)
        if found.setdefault(table, {}).get(column, dt.string) == dt.string:
            found[table][column] = dt.float64
    return found


def _shifted(node: a.Node) -> a.Node:
    """The ``x`` of ``x + 7d`` / ``x - 1h`` / ``7d + x``; ``node`` itself otherwise."""
    if isinstance(node, a.BinOp) and node.op in "+-":
        if isinstance(node.right, a.Duration):
            return node.left
        if node.op == "+" and isinstance(node.left, a.Duration):
            return node.right
    return node
