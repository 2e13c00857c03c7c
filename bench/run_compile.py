"""Compile benchmark: load + compile a 500-segment spec to one Ibis expression (no database).

    python bench/run_compile.py --copies 10 --repeat 5

The spec is segment_specs/bench_50.yaml ten times over, each copy with other windows and
thresholds (and its segment('...') references renamed to its own copy), plus a ``schema:`` block
of the demo tables so it compiles unbound.  Target: load + compile < 1 s (median).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ibis
import yaml

from variants import SPEC

TARGET_SECONDS = 1.0
_STRING = re.compile(r"('(?:[^'\\]|\\.)*')")


def vary(rule: str, copy: int) -> str:
    """``rule`` with its segment references renamed and its windows and numbers moved by ``copy``."""
    rule = re.sub(r"segment\('(\w+)'\)", lambda m: f"segment('{m[1]}_v{copy}')", rule)
    parts = _STRING.split(rule)
    for i in range(0, len(parts), 2):  # outside string literals only
        part = re.sub(r"(?<![\w.])(\d+)(min|d|h|w|s)\b", lambda m: f"{int(m[1]) + copy}{m[2]}", parts[i])
        parts[i] = re.sub(r"(?<![\w.])(\d+)(?![\w.])", lambda m: str(int(m[1]) + copy), part)
    return "".join(parts)


def big_spec(copies: int) -> dict:
    from segrules.demo import DEMO_TABLES

    spec = yaml.safe_load(SPEC.read_text())
    spec["name"] = f"bench_{copies * len(spec['segments'])}"
    spec["segments"] = {
        f"{name}_v{k}": {**segment, "where": vary(segment["where"], k)}
        for k in range(copies) for name, segment in spec["segments"].items()
    }
    spec["schema"] = {table: {name: str(dtype) for name, dtype in ibis.Schema.from_pyarrow(schema).items()}
                      for table, schema in DEMO_TABLES.items()}
    return spec


def timed(fn, repeat: int, cpu: list[float] | None = None) -> list[float]:
    """Wall seconds of ``repeat`` calls; their CPU seconds are appended to ``cpu``."""
    times = []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        fn()
        times.append(time.perf_counter() - started)
        if cpu is not None:
            cpu.append(time.process_time() - cpu_started)
    return times


def per_spec(fn, specs) -> list[float]:
    """``fn(spec)`` timed once for each spec."""
    times = []
    for spec in specs:
        started = time.perf_counter()
        fn(spec)
        times.append(time.perf_counter() - started)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=10, help="copies of the 50 segments (default 10)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)

    import segrules

    spec_data = big_spec(args.copies)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench_big.yaml"
        path.write_text(yaml.safe_dump(spec_data, sort_keys=False))
        print(f"spec: {len(spec_data['segments'])} segments, {len(spec_data['features'])} features, "
              f"{path.stat().st_size:,} bytes")

        def load_and_compile():
            return segrules.load(path).compile()

        cold = timed(load_and_compile, 1)[0]
        warm_cpu: list[float] = []
        warm = timed(load_and_compile, args.repeat, warm_cpu)
        spec = segrules.load(path)
        expr = spec.compile()
        to_sql = statistics.median(timed(lambda: ibis.to_sql(expr, dialect="duckdb"), max(1, args.repeat // 2)))
        load_only = statistics.median(timed(lambda: segrules.load(path), args.repeat))
        fresh = [segrules.load(path) for _ in range(args.repeat)]
        check = statistics.median(per_spec(lambda s: s.check(), fresh))
        plan = statistics.median(per_spec(lambda s: s.compile(), fresh))  # check() cached

    expressions = list(spec_data["features"].values()) + [s["where"] for s in spec_data["segments"].values()]
    parse_expr = _find_parse_expr()
    median = statistics.median(warm)
    print(f"load + compile, first run:      {cold:.3f} s")
    print(f"load + compile, median of {args.repeat}:    {median:.3f} s  (runs "
          + ", ".join(f"{t:.3f}" for t in warm) + f")  target < {TARGET_SECONDS} s")
    print(f"load + compile, median CPU:     {statistics.median(warm_cpu):.3f} s  (steadier than wall time "
          f"on a busy machine; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())})")
    print(f"  of which load (YAML + model): {load_only:.3f} s")
    print(f"  of which check (parse, names, types): {check:.3f} s")
    print(f"  of which the Ibis plan:       {plan:.3f} s")
    if parse_expr is not None:
        parse = statistics.median(timed(lambda: [parse_expr(e) for e in expressions], args.repeat))
        print(f"parse {len(expressions)} expressions alone:  {parse:.3f} s")
    else:
        print("parse stage alone: segrules.lang has no parse_expr yet")
    print(f"ibis.to_sql of the plan (extra): {to_sql:.3f} s")
    return 0 if median < TARGET_SECONDS else 1


def _find_parse_expr():
    import importlib

    for module in ("segrules.lang", "segrules.lang.parser"):
        try:
            found = getattr(importlib.import_module(module), "parse_expr", None)
        except ImportError:
            continue
        if found is not None:
            return found
    return None


if __name__ == "__main__":
    sys.exit(main())
