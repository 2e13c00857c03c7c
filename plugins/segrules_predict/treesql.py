"""Tree ensembles as ONE Ibis operation, ``TreeSum``, compiled straight to SQL.

A boosted model of 100 trees of depth 3 is 700 CASE nodes, 800 leaf constants and a few hundred
distinct split conditions. Built from Ibis's expression API, that is some 3,400 Ibis operations,
each validated on construction and rewritten and visited again by Ibis's compiler: about a second
of Python before the database sees the query, as much as DuckDB then needs to score a million rows.
``TreeSum`` carries the ensemble as plain data (the split conditions and the trees as tuples) and
one compile rule turns it into the same SQL those operations would have produced: a left-to-right
sum of nested CASE expressions. Every constant still goes through Ibis's literal rule of the
backend (``visit_Literal``) and its ``cast``, so the SQL is what ``scoring.number`` gives.

The rule is registered on ``SQLGlotCompiler``, the base of every Ibis SQL compiler (DuckDB,
PostgreSQL, Spark, Snowflake, BigQuery, Trino...), so ``TreeSum`` compiles wherever the rest of a
segrules query does.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import ibis.expr.datatypes as dt
import ibis.expr.operations as ops
import ibis.expr.rules as rlz
import sqlglot.expressions as sge
from ibis.backends.sql.compilers.base import SQLGlotCompiler
from ibis.common.typing import VarTuple

from .cutpoints import cut

#: A split condition: (kind, column index, constant) with kind "gt" / "le" (a number: an int for
#: an integer column, a float otherwise), "eq" (a text) or "missing" (null or the text).
Condition = tuple[str, int, Any]
#: A tree node: ("leaf", value) or ("split", condition index, node if true, node if false).
Node = tuple[Any, ...]


class TreeSum(ops.Value):
    """``init + tree_1 + tree_2 + ...`` (left to right) over ``columns``; ``init`` None: no term."""

    columns: VarTuple[ops.Value]
    conditions: VarTuple[Any]
    trees: VarTuple[Any]
    init: Any = None

    dtype = dt.float64
    shape = rlz.shape_like("columns")


def _visit_tree_sum(self: Any, op: TreeSum, *, columns: Any, conditions: Any, trees: Any, init: Any) -> Any:
    def text(value: str) -> Any:
        return self.visit_Literal(None, value=value, dtype=dt.string)

    def number(value: float) -> Any:  # what scoring.number compiles to: CAST('<repr>' AS DOUBLE)
        return self.cast(text(repr(float(value))), dt.float64)

    built = []
    for kind, index, value in conditions:
        column = columns[index]
        if kind in ("gt", "le"):
            bound = (self.visit_Literal(None, value=value, dtype=dt.int64) if isinstance(value, int)
                     else number(value))
            built.append((sge.GT if kind == "gt" else sge.LTE)(this=column, expression=bound))
        elif kind == "eq":
            built.append(sge.EQ(this=column, expression=text(value)))
        else:  # "missing": a null, or the text that stands for one
            built.append(sge.Or(this=sge.Is(this=column, expression=sge.Null()),
                                expression=sge.EQ(this=column, expression=text(value))))

    def node(n: Node) -> Any:
        if n[0] == "leaf":
            return number(n[1])
        _, condition, true, false = n
        return sge.Case(ifs=[self.if_(built[condition], node(true))], default=node(false))

    out = None if init is None else number(init)
    for tree in trees:
        term = node(tree)
        out = term if out is None else sge.Add(this=out, expression=term)
    return out


SQLGlotCompiler.visit_TreeSum = _visit_tree_sum  # type: ignore[attr-defined]


class Splits:
    """The distinct split conditions of a model's trees over its input columns, each built once.

    ``numeric``: per numeric feature, (its description, the raw column: an integer or a double);
    ``texts``: per categorical feature, the column as text."""

    def __init__(self, model: Mapping[str, Any], numeric: list[tuple[Mapping[str, Any], Any]],
                 texts: list[Any]) -> None:
        self.model = model
        self.numeric = numeric
        self.texts = texts
        self.columns: list[Any] = []
        self.conditions: list[Condition] = []
        self._column_index: dict[int, int] = {}
        self._splits: dict[tuple[int, float], bool | tuple[int, bool]] = {}
        # encoded feature i -> ("numeric", n) or ("category", c, category)
        self.encoded: list[tuple[Any, ...]] = [("numeric", n) for n in range(len(numeric))]
        for c, feature in enumerate(model["categorical"]):
            self.encoded += [("category", c, category) for category in feature["categories"]]

    def _condition(self, kind: str, column: Any, value: Any) -> int:
        key = id(column)
        if key not in self._column_index:
            self._column_index[key] = len(self.columns)
            self.columns.append(column)
        self.conditions.append((kind, self._column_index[key], value))
        return len(self.conditions) - 1

    def split(self, feature: int, threshold: float) -> bool | tuple[int, bool]:
        """A split as ``(condition, left)``: rows where the condition holds go left when ``left``,
        right otherwise; the others (null included) go the other way. A bool when the split does
        not depend on the row (True: all go left).

        The conditions read the raw columns, not the imputed ones (no COALESCE at every node):
        each is oriented so that a null falls where its imputed value goes."""
        key = (feature, threshold)
        if key not in self._splits:
            self._splits[key] = self._split(feature, threshold)
        return self._splits[key]

    def _split(self, feature: int, threshold: float) -> bool | tuple[int, bool]:
        encoded = self.encoded[feature]
        if encoded[0] == "numeric":
            meta, x = self.numeric[encoded[1]]
            point = cut(meta["mean"], meta["scale"], threshold)
            if point is None or point == math.inf:
                return point is not None
            bound: float | int = point
            if x.type().is_integer() and abs(point) < 2.0**62:
                bound = math.floor(point)  # x <= cut iff x <= floor(cut)
            if meta["impute"] <= point:  # a null goes left: on the false side of "x > cut"
                return self._condition("gt", x, bound), False
            return self._condition("le", x, bound), True
        _, c, category = encoded
        # the indicator is 0.0 or 1.0 (exact in float32); a null is the category MISSING
        zero, one = 0.0 <= threshold, 1.0 <= threshold
        if zero == one:
            return zero
        kind = "missing" if category == self.model["missing"] else "eq"
        return self._condition(kind, self.texts[c], category), one

    def tree(self, tree: Mapping[str, Any], leaf: Callable[[Any], float]) -> Node:
        """One tree as nested tuples; ``leaf(value)`` is the number of a leaf."""
        def node(i: int) -> Node:
            if tree["left"][i] == -1:
                return ("leaf", float(leaf(tree["value"][i])))
            split = self.split(tree["feature"][i], tree["threshold"][i])
            if isinstance(split, bool):
                return node(tree["left"][i] if split else tree["right"][i])
            condition, left = split
            then, otherwise = (tree["left"][i], tree["right"][i]) if left else (tree["right"][i], tree["left"][i])
            return ("split", condition, node(then), node(otherwise))

        return node(0)

    def total(self, trees: list[Mapping[str, Any]], leaf: Callable[[Any], float], init: float | None = None) -> Any:
        """``init + tree_1 + ...`` as an Ibis float64 value."""
        nodes = tuple(self.tree(tree, leaf) for tree in trees)
        if not self.columns:  # no tree depends on the row
            from .scoring import number
            return number(_constant(nodes, init))
        return TreeSum(tuple(self.columns), tuple(self.conditions), nodes, init).to_expr()


def _constant(nodes: tuple[Node, ...], init: float | None) -> float:
    out = None if init is None else init
    for n in nodes:
        out = n[1] if out is None else out + n[1]
    return 0.0 if out is None else out
