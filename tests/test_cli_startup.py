"""Start-up: what ``segrules --version`` and an offline ``validate`` import (each in a fresh
process; not timed: bench/startup.py measures the time, docs/performance.md has the figures)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("ibis", "pandas", "pyarrow", "numpy", "sqlglot", "duckdb", "rich.table", "httpx", "z3", "matplotlib")
PROBE = """
import json, sys
sys.argv = ["segrules", *json.loads(sys.argv[1])]
from segrules.cli import entry
try:
    entry()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _imports(*args: str, cwd: Path = ROOT) -> tuple[int, set[str]]:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)
    result = json.loads(done.stdout.splitlines()[-1])
    return result["code"], set(result["modules"])


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m in HEAVY or m.startswith(tuple(f"{h}." for h in HEAVY)))


def test_cli_startup_version_imports_nothing_heavy():
    code, modules = _imports("--version")
    assert code == 0
    assert _heavy(modules) == [] and "click" not in modules and "segrules.api" not in modules


def test_cli_startup_version_fast_path_prints_what_click_prints():
    from segrules.cli import VERSION, main
    assert CliRunner().invoke(main, ["--version"]).output == VERSION + "\n"
    done = subprocess.run([sys.executable, "-m", "segrules.cli", "--version"], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout == VERSION + "\n"


def test_cli_startup_offline_validate_imports_nothing_heavy(tmp_path):
    spec = tmp_path / "shop.yaml"  # no schema: block, no --db: the syntax is checked, offline
    spec.write_text("version: 1\nname: shop\nentity: {table: customers, key: id}\n"
                    "sources:\n  orders: {table: orders, key: customer_id, time: ordered_at}\n"
                    "segments:\n  big:\n    where: sum(orders.amount within 30d) > 100\n", encoding="utf-8")
    code, modules = _imports("validate", str(spec))
    assert code == 0  # valid, with the SR120 warning (names and types not checked)
    assert _heavy(modules) == [] and "rich" not in modules
    assert {"segrules.api", "segrules.spec.expressions", "segrules_rfm", "segrules_mece"} <= modules
    code, modules = _imports("validate", str(ROOT / "segment_specs" / "ecommerce.yaml"))
    assert code == 0 and _heavy(modules) == []  # typed by its schema: block, with segrules' own types


def test_cli_startup_offline_validate_still_finds_syntax_errors(tmp_path):
    spec = tmp_path / "shop.yaml"
    spec.write_text("version: 1\nname: shop\nentity: {table: customers, key: id}\n"
                    "segments:\n  big:\n    where: spend >\n", encoding="utf-8")
    code, modules = _imports("validate", str(spec))
    assert code == 2 and _heavy(modules) == []


def test_cli_startup_documented_bench_command_runs():
    """The bench command of docs/performance.md, run as written with one run per command."""
    text = (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
    shown = re.findall(r"^python (bench/startup\.py .*)$", text, re.M)
    commands = {tuple(shlex.split(line, comments=True)) for line in shown}
    [args] = [list(command) for command in commands]  # the same command wherever it is shown
    args[args.index("--runs") + 1] = "1"
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr
    rows = {line.split("|")[1].strip(" `"): line for line in done.stdout.splitlines() if line.startswith("| `")}
    assert set(rows) == {"python -c pass", "python -c 'import segrules'", "segrules --version",
                         "segrules validate SPEC", "segrules validate SPEC (no schema block)"}
    trees = 2 if "--compare" in args else 1
    for label, line in rows.items():  # per tree: median, min, over the baseline (not for it), CPU median
        cells = [cell.strip() for cell in line.split("|")[2:-1]]
        assert len(cells) == 4 * trees
        assert all(re.fullmatch(r"[+-]?\d+\.\d{3} s", c) or (c == "" and label == "python -c pass") for c in cells)


def test_cli_startup_reserved_function_names_are_the_builtins():
    """lang/reserved.py lists the built-in names the registry needs without importing Ibis: the
    same names as the table that defines the functions."""
    from segrules.builtin import FUNCTIONS
    from segrules.lang.reserved import BUILTIN_FUNCTIONS
    assert sorted(BUILTIN_FUNCTIONS) == sorted(FUNCTIONS)
    assert len(BUILTIN_FUNCTIONS) == len(set(BUILTIN_FUNCTIONS))
