"""How each output of a spec can be kept current by the service: the guarantee per rule kind.

Every segment and feature the service outputs falls in one of three kinds, decided from the
checked rules (the closure of what it reads, through features and ``segment(...)``):

* **global** — it reads a population value (``percent_rank``, ``ntile``, ``top_n``), a plugin
  namespace (``rfm.*``) or a plugin entity function (``score(...)``): one entity's new row can
  change every other entity's value, so these are recomputed over all entities on every
  evaluation (ingest or sweep);
* **timed** — entity-local, and ``now`` reaches it only through ``within D`` windows, the
  point-in-time cut of the sources and the entity table (rows with a time after ``now`` count
  once ``now`` reaches it), and comparisons of an entity timestamp column with ``now ± D``:
  its value can change without new rows only at an instant derived from the entity's own
  rows (``t``, ``t + D``, ``column ∓ D``), so each entity carries its *next change time* and
  is re-evaluated when that time comes, to the microsecond;
* **swept** — entity-local, but it reads ``now`` some other way (``days_since``, ``today``,
  calendar windows, ``now`` inside an aggregate's ``where``, ...): re-evaluated for the
  touched entities on every ingest; its purely time-driven changes wait for the periodic sweep
  (``--sweep``), which bounds their delay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Iterator

from ..builtin import FUNCTIONS
from ..check import CheckedSpec
from ..check.cycles import Ref
from ..check.entity_functions import EntityFunctionValue
from ..check.typecheck import EntityColumn, NamespaceValue
from ..compile.windows import resolve_duration
from ..lang import ast as a

# The built-in functions whose value moves with `now` (they read the compiler's now: `_since` in
# builtin/times.py); a plugin's function that gets the compiler (`context`) may too.
NOW_FUNCTIONS = frozenset({"days_since", "hours_since"})

# one microsecond: the plans compare timestamps to the microsecond (DuckDB and PostgreSQL)
TICK_SECONDS = 1e-6


class RuleKind(StrEnum):
    GLOBAL = "global"
    TIMED = "timed"
    SWEPT = "swept"


@dataclass
class TimeRules:
    """Where the next change time of an entity comes from (for the timed outputs).

    ``windows``: source -> the window lengths (seconds) of the aggregates over it (0 for the
    point-in-time cut alone); ``shifts``: (entity column, seconds) — a candidate is
    ``column + seconds``; ``entity_time``: the entity table's time column, if any."""

    windows: dict[str, set[float]] = field(default_factory=dict)
    shifts: set[tuple[str, float]] = field(default_factory=set)
    entity_time: str | None = None


@dataclass
class Kinds:
    """The outputs of a spec by kind, and the time rules of the timed ones."""

    of: dict[Ref, RuleKind]
    time_rules: TimeRules

    def names(self, kind: RuleKind, what: str) -> list[str]:
        return [name for (k, name), v in self.of.items() if k == what and v is kind]


def _parents(root: a.Node) -> Iterator[tuple[a.Node, a.Node | None, a.Aggregate | a.Sequence | None]]:
    """(node, parent, the aggregate or sequence it is inside) for every node below ``root``."""
    stack: list[tuple[a.Node, a.Node | None, a.Aggregate | a.Sequence | None]] = [(root, None, None)]
    while stack:
        node, parent, inside = stack.pop()
        yield node, parent, inside
        scope = node if isinstance(node, (a.Aggregate, a.Sequence)) else inside
        stack.extend((child, node, scope) for child in node.children())


def _now_shift(node: a.Node, params: dict[str, Any]) -> float | None:
    """The seconds ``s`` when ``node`` is ``now``, ``now + D`` (s = D) or ``now - D`` (s = -D)."""
    if isinstance(node, a.Now):
        return 0.0
    if isinstance(node, a.BinOp) and node.op in ("+", "-") and isinstance(node.left, a.Now) \
            and isinstance(node.right, (a.Duration, a.Param)):
        try:
            seconds = resolve_duration(node.right, params).seconds
        except ValueError:
            return None
        return float(seconds if node.op == "+" else -seconds)
    return None


def _own_kind(checked: CheckedSpec, root: a.Node, params: dict[str, Any], rules: TimeRules) -> RuleKind:
    """The kind of one rule by itself (what it reads through other rules is added by the caller)."""
    kind = RuleKind.TIMED
    explained: set[int] = set()  # the Now nodes a comparison with an entity column accounts for
    for node, parent, inside in _parents(root):
        binding = checked.bindings.get(id(node))
        if isinstance(binding, (NamespaceValue, EntityFunctionValue)):
            return RuleKind.GLOBAL
        if isinstance(node, a.Call):
            fn = checked.functions.get(node.name) or FUNCTIONS.get(node.name)
            if fn is not None and fn.population:
                return RuleKind.GLOBAL
            if fn is None or node.name in NOW_FUNCTIONS or (fn.context and node.name not in FUNCTIONS):
                kind = RuleKind.SWEPT
        elif isinstance(node, (a.Aggregate, a.Sequence)):
            window = node.window
            if window is not None and not isinstance(window, (a.Within, a.TimeRange)):
                kind = RuleKind.SWEPT  # calendar windows: `this month` moves with the calendar
            elif isinstance(window, a.Within):
                if window.ahead:
                    kind = RuleKind.SWEPT
                else:
                    seconds = float(resolve_duration(window.duration, params).seconds)
                    for source in _sources(node):
                        rules.windows.setdefault(source, {0.0}).add(seconds)
            for source in _sources(node):
                rules.windows.setdefault(source, {0.0})
        elif isinstance(node, a.Compare) and inside is None:
            for column, other in ((node.left, node.right), (node.right, node.left)):
                shift = _now_shift(other, params)
                if shift is not None and isinstance(checked.bindings.get(id(column)), EntityColumn):
                    assert isinstance(column, a.Name)
                    # column OP now + s changes when now crosses column - s
                    rules.shifts.add((column.name, -shift))
                    explained.update(id(n) for n in other.walk() if isinstance(n, a.Now))
        elif isinstance(node, (a.Now, a.Today)) and id(node) not in explained:
            kind = RuleKind.SWEPT
    return kind  # (parents come first in _parents: a comparison explains its Now before it is seen)


def _sources(node: a.Aggregate | a.Sequence) -> list[str]:
    return [node.source] if isinstance(node, a.Aggregate) else [step.source for step in node.steps]


def classify(checked: CheckedSpec, params: dict[str, Any]) -> Kinds:
    """The kind of every feature and segment of ``checked`` (see the module docstring)."""
    rules = TimeRules(entity_time=checked.model.entity.time)
    own: dict[Ref, RuleKind] = {}
    for ref in checked.order:
        kind_name, name = ref
        root = checked.features[name] if kind_name == "feature" else checked.segments[name]
        own[ref] = _own_kind(checked, root, params, rules)
    rank = {RuleKind.TIMED: 0, RuleKind.SWEPT: 1, RuleKind.GLOBAL: 2}
    of: dict[Ref, RuleKind] = {}
    for ref in checked.order:  # dependencies first
        of[ref] = max([own[ref], *(of[dep] for dep, _ in checked.deps.get(ref, ()))], key=rank.__getitem__)
    return Kinds(of, rules)
