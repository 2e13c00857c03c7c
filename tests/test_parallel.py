"""tests/parallel.py: how the suite is shared out among the xdist workers."""

from __future__ import annotations

from pathlib import Path


def test_parallel_heavy_units_are_handed_out_first():
    """tests/parallel.py: the long units (Spark, the longest docs pages) start first, then the
    others by their number of tests; every unit named in HEAVY still exists in the suite."""
    from parallel import HEAVY, heaviest_first

    queue = {"tests/test_a.py": {"a1": False, "a2": False, "a3": False}, "tests/test_b.py": {"b1": False},
             "spark": {"s1": False}, "tests/test_readme_setup.py": {"r1": False}}
    assert [unit for unit, _ in heaviest_first(queue)] == [
        "spark", "tests/test_readme_setup.py", "tests/test_a.py", "tests/test_b.py"]
    root = Path(__file__).resolve().parent.parent
    for unit in HEAVY:
        module, _, test = unit.partition("::")
        assert unit == "spark" or (root / module).exists(), unit
        if test:
            page = test.partition("[")[2].rstrip("]")
            assert (root / page).exists(), unit
