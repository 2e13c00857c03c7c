"""How fast and how small the refusal of an alias bomb is (issue 12: 10**6 leaves took 22.6 s and
686 MB before aliases were bounded; 10**7 ran out of memory).

    python bench/yaml_bomb.py

Loads ``tests/fuzz_corpus/yaml_alias_bomb.yaml`` (nine levels of ten aliases: 10**9 leaves once
expanded) with ``parse_spec``, 20 times, and prints the median time and the peak memory the
refusal allocated (tracemalloc), and the diagnostic.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from segrules.errors import SpecError
from segrules.spec import parse_spec

BOMB = Path(__file__).resolve().parent.parent / "tests" / "fuzz_corpus" / "yaml_alias_bomb.yaml"


def refuse(text: str) -> SpecError:
    try:
        parse_spec(text, BOMB.name)
    except SpecError as exc:
        return exc
    raise AssertionError("the alias bomb loaded")


def main() -> int:
    text = BOMB.read_text(encoding="utf-8")
    times = []
    for _ in range(20):
        began = time.perf_counter()
        exc = refuse(text)
        times.append(time.perf_counter() - began)
    tracemalloc.start()
    refuse(text)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"{len(text.encode())}-byte file, 10^9 leaves expanded: refused in {statistics.median(times) * 1000:.1f} ms "
          f"(median of 20), peak {peak / 1024:.0f} KiB allocated")
    print(exc.render({BOMB.name: text}).splitlines()[0])
    return 0


if __name__ == "__main__":
    sys.exit(main())
