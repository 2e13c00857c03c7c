"""The static MECE proof of a 30-segment taxonomy (435 pairs and the gap question), against the
core checks of the same spec (load + parse + type-check) as the baseline, in the same run.

    python bench/run_mece.py --bands 10 --repeat 3

The taxonomy crosses ``--bands`` spend bands with 3 recency stages (active / at risk / lapsed),
so it is MECE over customers with orders; ``never_purchased`` closes it.  Every answer must be
"proved", else the exit code is 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import segrules
import segrules_mece
from segrules_mece.prover import prove

STAGES = {
    "active": "count(orders within 90d) > 0",
    "at_risk": "count(orders within 90d) == 0 and count(orders within 365d) > 0",
    "lapsed": "count(orders) > 0 and count(orders within 365d) == 0",
}


def spec_text(bands: int) -> str:
    edges = [0] + [50 * 2**i for i in range(bands - 1)]
    segments, names = [], []
    for b in range(bands):
        spend = f"ltv >= {edges[b]}" + (f" and ltv < {edges[b + 1]}" if b + 1 < bands else "")
        for stage, rule in STAGES.items():
            name = f"{stage}_band{b}"
            names.append(name)
            segments.append(f"  {name}:\n    where: {spend} and {rule}\n")
    names.append("never_purchased")
    segments.append("  never_purchased:\n    where: count(orders) == 0\n")
    return f"""\
version: 1
name: bench_mece
entity: {{table: customers, key: customer_id}}
sources:
  orders: {{table: orders, key: customer_id, time: ordered_at}}
assume:
  orders.amount: {{minimum: 0}}
features:
  ltv: sum(orders.amount)
segments:
{''.join(segments)}taxonomies:
  value_stage:
    segments: [{', '.join(names)}]
    exclusive: true
    exhaustive: true
schema:
  customers: {{customer_id: int64}}
  orders: {{customer_id: int64, ordered_at: timestamp, amount: "decimal(12, 2)"}}
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bands", type=int, default=10, help="spend bands (segments = 3 * bands + 1)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    registry = segrules.default_registry(plugins=[segrules_mece], load_entrypoints=False)
    text = spec_text(args.bands)
    baseline, proving, failed = [], [], False
    for _ in range(args.repeat):
        start = time.perf_counter()
        spec = segrules.load_text(text, "bench_mece.yaml", registry=registry)
        checked = spec.check()
        baseline.append(time.perf_counter() - start)
        tax = spec.section("taxonomies")["value_stage"]
        start = time.perf_counter()
        proof = prove(checked, "value_stage", tax.segments)
        proving.append(time.perf_counter() - start)
        answers = [p.kind for p in proof.pairs] + [proof.gap.kind]
        failed |= set(answers) != {"disjoint", "exhaustive"}
    n = len(tax.segments)
    base, prove_s = statistics.median(baseline), statistics.median(proving)
    print(f"segments: {n}, pairs: {n * (n - 1) // 2}, answers: "
          f"{answers.count('disjoint')} disjoint, {answers.count('exhaustive')} exhaustive gap question")
    print(f"core checks (load + type-check): {base:.3f} s   MECE proof: {prove_s:.3f} s   "
          f"ratio proof/core: {prove_s / base:.1f}")
    if failed:
        print("not every answer was proved", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
