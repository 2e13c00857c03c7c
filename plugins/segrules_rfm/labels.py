"""Label maps: rules over the scores ``r``, ``f`` and ``m`` in the expression language, checked to
be mutually exclusive and exhaustive (MECE) over every score combination, and evaluated either in
Python (for the proof) or as Ibis expressions (in the database), by the same visitor.

A label rule may use the names ``r``, ``f`` and ``m``, numbers, ``+ - * / %``, unary minus,
comparisons, ``in (...)``, ``between ... and ...``, ``and``, ``or``, ``not`` and ``true``/``false``.
"""

from __future__ import annotations

import functools

import itertools
import math
import operator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources

import yaml

from segrules.plugin import Diagnostic, ExprSyntaxError, SourceMap, Span, ast, parse_expr

SCORES = ("r", "f", "m")
ALLOWED = "r, f, m, numbers, + - * / %, comparisons, in, between, and, or, not"
_COMPARE = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
            ">": operator.gt, ">=": operator.ge}


def _mod(a, b):
    """``%`` keeps the sign of the left operand, as in SQL and the segrules language (``-7 % 3`` is -1)."""
    if not isinstance(a, (int, float)):
        return a % b  # Ibis: SQL's own modulo
    result = math.fmod(a, b)
    return int(result) if isinstance(a, int) and isinstance(b, int) else result


_ARITH = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "%": _mod}


@dataclass(frozen=True)
class LabelRule:
    label: str
    text: str
    node: ast.Node
    description: str = ""


@dataclass(frozen=True)
class LabelMap:
    rules: tuple[LabelRule, ...]

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(rule.label for rule in self.rules)

    def label_of(self, r: int, f: int, m: int) -> list[str]:
        """Every label whose rule holds for these scores (exactly one for a MECE map)."""
        scores = {"r": r, "f": f, "m": m}
        return [rule.label for rule in self.rules if evaluate(rule.node, scores, PYTHON) is True]

    def expression(self, r, f, m, otherwise: str):
        """The label as an Ibis expression over the score columns; ``otherwise`` when no rule
        holds (null scores: entities without a qualifying transaction)."""
        import ibis

        scores = {"r": r, "f": f, "m": m}
        cases = [(evaluate(rule.node, scores, ibis_ops()), rule.label) for rule in self.rules]
        return ibis.cases(*cases, else_=ibis.literal(otherwise))


# --- one visitor, two ways to run it ----------------------------------------------------------------
@dataclass(frozen=True)
class Ops:
    literal: object
    and_: object
    or_: object
    not_: object
    isin: object
    between: object


PYTHON = Ops(literal=lambda v: v, and_=lambda a, b: a and b, or_=lambda a, b: a or b,
             not_=lambda a: not a, isin=lambda x, items: x in items, between=lambda x, lo, hi: lo <= x <= hi)


def ibis_ops() -> Ops:
    """The operations over Ibis columns (Ibis imported here: checking labels does not need it)."""
    import ibis
    return Ops(literal=ibis.literal, and_=operator.and_, or_=operator.or_, not_=operator.invert,
               isin=lambda x, items: x.isin(items), between=lambda x, lo, hi: x.between(lo, hi))


class RuleError(Exception):
    def __init__(self, node: ast.Node, message: str):
        super().__init__(message)
        self.node = node


def evaluate(node: ast.Node, scores: dict, ops: Ops):
    """The value of a label rule for ``scores`` (Python numbers, or Ibis columns with :func:`ibis_ops`)."""
    def ev(n):
        return evaluate(n, scores, ops)

    if isinstance(node, ast.Number):
        value = float(node.value) if isinstance(node.value, Decimal) else node.value
        return ops.literal(value)
    if isinstance(node, ast.Boolean):
        return ops.literal(node.value)
    if isinstance(node, ast.Name) and node.name in scores:
        return scores[node.name]
    if isinstance(node, ast.Compare):
        return _COMPARE[node.op](ev(node.left), ev(node.right))
    if isinstance(node, ast.BinOp):
        return _ARITH[node.op](ev(node.left), ev(node.right))
    if isinstance(node, ast.Neg):
        return -ev(node.operand)
    if isinstance(node, ast.And):
        return functools.reduce(ops.and_, [ev(o) for o in node.operands])
    if isinstance(node, ast.Or):
        return functools.reduce(ops.or_, [ev(o) for o in node.operands])
    if isinstance(node, ast.Not):
        return ops.not_(ev(node.operand))
    if isinstance(node, ast.InList):
        found = ops.isin(ev(node.operand), [ev(item) for item in node.items])
        return ops.not_(found) if node.negated else found
    if isinstance(node, ast.Between):
        found = ops.between(ev(node.operand), ev(node.low), ev(node.high))
        return ops.not_(found) if node.negated else found
    if isinstance(node, (ast.Name, ast.Dotted)):
        raise RuleError(node, f"unknown name {_text(node)!r}: a label rule can use r, f and m")
    raise RuleError(node, f"{type(node).__name__.lower()} is not allowed in a label rule")


def _text(node) -> str:
    return node.name if isinstance(node, ast.Name) else f"{node.namespace}.{node.name}"


# --- building maps ----------------------------------------------------------------------------------
def _parse(text: str, source_map: SourceMap, diags: list[Diagnostic]) -> ast.Node | None:
    try:
        node = parse_expr(text, source_map=source_map)
    except ExprSyntaxError as exc:
        diags.extend(exc.diagnostics)
        return None
    try:
        evaluate(node, {s: 1 for s in SCORES}, PYTHON)
    except RuleError as exc:
        diags.append(Diagnostic("RFM111", str(exc), exc.node.span, hint=f"use {ALLOWED}",
                                source="rfm"))
        return None
    except (ZeroDivisionError, ValueError):
        pass  # reported with the combination by mece_diagnostics
    return node


@lru_cache(maxsize=1)
def default_data() -> dict:
    return yaml.safe_load(resources.files("segrules_rfm").joinpath("data/labels.yaml").read_text("utf-8"))


@lru_cache(maxsize=1)
def default_label_map() -> LabelMap:
    """The standard 11-segment map shipped in ``data/labels.yaml`` (for ``bins: 5``); immutable,
    so parsed once per process."""
    data, diags, rules = default_data(), [], []
    for label, item in data["labels"].items():
        node = _parse(item["rule"], SourceMap.for_text(item["rule"], "segrules_rfm/data/labels.yaml"), diags)
        if node is None:
            raise AssertionError(f"the shipped label map is broken: {diags}")
        rules.append(LabelRule(label, item["rule"], node, item.get("description", "")))
    return LabelMap(tuple(rules))


DEFAULT_BINS = 5


def spec_label_map(document, path: tuple = ("rfm", "labels")) -> tuple[LabelMap | None, list[Diagnostic]]:
    """The custom ``labels:`` of the spec's ``rfm:`` section, parsed where they are written."""
    labels = document.model.rfm.labels or {}
    diags: list[Diagnostic] = []
    rules = []
    for label, text in labels.items():
        where = path + (label,)
        span = document.index.value_span(where)
        segments = document.index.segments(where) or ((0, span.line, span.column),)
        node = _parse(text, SourceMap(document.path, segments), diags)
        if node is not None:
            rules.append(LabelRule(label, text, node))
    return (LabelMap(tuple(rules)) if not diags else None), diags


def _combos(found: list[tuple]) -> str:
    shown = ", ".join(f"({r}, {f}, {m})" for r, f, m in found[:4])
    more = f" and {len(found) - 4} more" if len(found) > 4 else ""
    return f"{shown}{more}"


def mece_diagnostics(label_map: LabelMap, bins: int, span_of, gap_span: Span | None) -> list[Diagnostic]:
    """Every (r, f, m) in 1..bins must match exactly one rule. ``span_of(label)`` positions a
    rule's problems; gaps are reported at ``gap_span``."""
    diags: list[Diagnostic] = []
    overlaps: dict[tuple[str, str], list] = {}
    gaps, broken = [], set()
    for combo in itertools.product(range(1, bins + 1), repeat=3):
        scores = dict(zip(SCORES, combo))
        matched = []
        for rule in label_map.rules:
            try:
                value = evaluate(rule.node, scores, PYTHON)
            except (ZeroDivisionError, ValueError):  # x / 0, x % 0 (math.fmod raises ValueError)
                value = None
            if not isinstance(value, bool):
                if rule.label not in broken:
                    broken.add(rule.label)
                    got = "a division by zero" if value is None else repr(value)
                    diags.append(Diagnostic("RFM112", f"label rule {rule.label!r} must be true or false, got "
                                            f"{got} for (r, f, m) = {combo}", span_of(rule.label),
                                            hint="compare the scores, e.g. r >= 4", source="rfm"))
                continue
            if value:
                matched.append(rule.label)
        if not matched and not broken:
            gaps.append(combo)
        for a, b in itertools.combinations(matched, 2):
            overlaps.setdefault((a, b), []).append(combo)
    for (a, b), found in overlaps.items():
        diags.append(Diagnostic("RFM113", f"labels {a!r} and {b!r} overlap: both match (r, f, m) = "
                                f"{_combos(found)}", span_of(b),
                                hint="every customer must get exactly one label: make the rules exclusive",
                                source="rfm"))
    if gaps:
        diags.append(Diagnostic("RFM114", f"no label matches (r, f, m) = {_combos(gaps)} "
                                f"({len(gaps)} of {bins ** 3} combinations)", gap_span,
                                hint="every customer must get exactly one label: cover these scores",
                                source="rfm"))
    return diags
