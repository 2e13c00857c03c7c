"""Static MECE answers for a taxonomy, from the rules alone.

For every pair of segments: *disjoint* (proved: no data puts an entity in both), *overlap* (with
a witness: a data set that puts an entity in both, found in the concrete mode so it can be
inserted as rows), or *unknown* (with the reason).  The same for the gap: *exhaustive* (proved),
*gap* (a witness in none of them), or *unknown*.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from itertools import combinations

import z3

from .env import Env
from .smt import Unsupported
from .witness import Witness, extract_witness

TIMEOUT_MS = 2000  # per solver query
MAX_ROWS = 12  # symbolic rows per source when looking for a witness
# Witnesses are first looked for as of this time (2026-01-01 12:00 UTC), with every time in the
# three years before it, so that they read well; then at any time.
REFERENCE_NOW = 1767268800
# Searching witnesses costs far more than proving; past this many seconds per spec, a question the
# rules do not settle is answered unknown without a witness (proofs go on).
WITNESS_BUDGET_S = 20.0


@dataclass
class Answer:
    """``kind``: disjoint | overlap | exhaustive | gap | unknown.  ``segments``: the pair, or
    every segment of the taxonomy for a gap question."""

    kind: str
    segments: tuple[str, ...]
    witness: Witness | None = None
    reason: str | None = None
    node: object | None = None  # the construct an unknown is about, when there is one

    def to_dict(self) -> dict:
        return {"answer": self.kind, "segments": list(self.segments), "reason": self.reason,
                "witness": self.witness.to_dict() if self.witness else None}


@dataclass
class Proof:
    taxonomy: str
    pairs: list[Answer] = field(default_factory=list)
    gap: Answer | None = None
    approximations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"taxonomy": self.taxonomy, "pairs": [p.to_dict() for p in self.pairs],
                "gap": self.gap.to_dict() if self.gap else None, "approximated": self.approximations}


class Prover:
    """Answers MECE questions about the segments of one checked spec."""

    def __init__(self, checked, timeout_ms: int = TIMEOUT_MS, max_rows: int = MAX_ROWS,
                 witness_budget_s: float = WITNESS_BUDGET_S):
        self.checked, self.timeout_ms, self.max_rows = checked, timeout_ms, max_rows
        self.witness_budget_s = witness_budget_s
        self.witness_seconds = 0.0
        self.env = Env(checked)
        self.members: dict[str, object] = {}
        self.failures: dict[str, Unsupported] = {}
        self.solver = z3.Solver()
        self.solver.set("timeout", timeout_ms)
        self._facts_added = 0

    def member(self, name: str):
        """'In segment ``name``' in the abstract mode, or None when it cannot be translated."""
        if name not in self.members and name not in self.failures:
            try:
                self.members[name] = self.env.segment(self.env.root, name)
            except Unsupported as exc:
                self.failures[name] = exc
            except z3.Z3Exception as exc:  # a sort mismatch the translator did not foresee
                self.failures[name] = Unsupported(f"no SMT translation ({exc})")
        return self.members.get(name)

    def _sync_facts(self):
        new = self.env.facts[self._facts_added:]
        self.solver.add(*new)
        self._facts_added = len(self.env.facts)

    def ask(self, segments: tuple[str, ...], condition, on_sat: str, on_unsat: str) -> Answer:
        """Is ``condition`` (built from the members of ``segments``) possible?"""
        failed = [self.failures[s] for s in segments if s in self.failures]
        if failed:
            return Answer("unknown", segments, reason=failed[0].reason, node=failed[0].node)
        self._sync_facts()
        self.solver.push()
        self.solver.add(condition)
        result = self.solver.check()
        model = self.solver.model() if result == z3.sat else None
        reason = self.solver.reason_unknown() if result == z3.unknown else None
        self.solver.pop()
        if result == z3.unsat:
            return Answer(on_unsat, segments)
        if result == z3.unknown:
            return Answer("unknown", segments, reason=f"the solver gave up ({reason})")
        return self._witness(segments, on_sat, model)

    def _witness(self, segments, on_sat, abstract_model) -> Answer:
        """Look for data realising the abstract model's answer: bounded symbolic rows."""
        if self.witness_seconds >= self.witness_budget_s:
            return Answer("unknown", segments, reason=f"not proved; no witness searched (the {self.witness_budget_s:g} s "
                          "budget for witnesses is spent)")
        start = time.monotonic()
        try:
            return self._search(segments, on_sat, abstract_model)
        finally:
            self.witness_seconds += time.monotonic() - start

    def _search(self, segments, on_sat, abstract_model) -> Answer:
        sizes = self._row_counts(abstract_model)
        tries, n = [sizes], max(sizes.values(), default=1)
        while n < self.max_rows:  # more rows per source, doubling: small data sets solve fastest
            n = min(self.max_rows, max(2, n * 2))
            tries.append({s: max(k, n) for s, k in sizes.items()})
        last = None
        for rows in tries:
            env = Env(self.checked, rows=rows)
            try:
                members = [env.segment(env.root, s) for s in segments]
            except Unsupported as exc:
                return Answer("unknown", segments, reason=f"{exc.reason}: no exact witness can be built",
                              node=exc.node)
            except z3.Z3Exception as exc:
                return Answer("unknown", segments, reason=f"no exact SMT translation for a witness ({exc})")
            condition = z3.And(members) if on_sat == "overlap" else z3.And([z3.Not(m) for m in members])
            solver = z3.Solver()
            solver.set("timeout", self.timeout_ms)
            solver.add(env.facts + [condition])
            last = solver.check(*env.readable(REFERENCE_NOW))
            if last != z3.sat:
                last = solver.check()
            if last == z3.sat:
                return Answer(on_sat, segments, witness=extract_witness(env, solver.model(), segments))
            if last == z3.unknown:
                break  # more rows would only be harder
        if last == z3.unknown:
            reason = "the solver gave up looking for a witness"
        else:
            reason = (f"not proved, but no witness with at most {self.max_rows} rows per source exists; "
                      "the modelling may be too coarse here")
        approximated = sorted({r for _, r in self.env.approximations})
        if approximated:
            reason += " (approximated: " + "; ".join(approximated) + ")"
        return Answer("unknown", segments, reason=reason)

    def _row_counts(self, model) -> dict[str, int]:
        counts = {s: 1 for s in self.checked.model.sources}
        for node, value in self.env.aggregates.items():
            if node.func in ("count", "count_distinct"):
                n = model.eval(value.v, model_completion=True)
                if z3.is_int_value(n):
                    counts[node.source] = max(counts[node.source], n.as_long())
        return {s: min(n, self.max_rows) for s, n in counts.items()}

    # -- questions -----------------------------------------------------------------------
    def pair(self, a: str, b: str) -> Answer:
        ma, mb = self.member(a), self.member(b)
        condition = z3.And(ma, mb) if ma is not None and mb is not None else None
        return self.ask((a, b), condition, "overlap", "disjoint")

    def gap(self, segments: list[str]) -> Answer:
        members = [self.member(s) for s in segments]
        condition = z3.And([z3.Not(m) for m in members]) if all(m is not None for m in members) else None
        return self.ask(tuple(segments), condition, "gap", "exhaustive")


def prove(checked, name: str, segments: list[str], *, pairs: bool = True, gap: bool = True,
          timeout_ms: int = TIMEOUT_MS, prover: Prover | None = None) -> Proof:
    """The static answers for one taxonomy."""
    prover = prover or Prover(checked, timeout_ms)
    proof = Proof(name)
    if pairs:
        proof.pairs = [prover.pair(x, y) for x, y in combinations(segments, 2)]
    if gap:
        proof.gap = prover.gap(segments)
    proof.approximations = sorted({reason for _, reason in prover.env.approximations})
    return proof
