"""Start-up benchmark: how long a ``segrules`` command takes from a fresh process, the part
every CLI call pays before it does any work.

    python bench/startup.py --runs 20
    python bench/startup.py --runs 20 --compare main     # this tree against the revision main

Each command runs ``--runs`` times, each time in a fresh Python process, round-robin over the
commands (and the trees), so load from other work on the machine falls on all of them alike.
The baseline is ``python -c pass`` measured in the same run; ``over baseline`` is a command's
median minus the baseline's. ``--compare REV`` also runs the sources of git revision REV
(``git archive``, put first on ``PYTHONPATH``; same interpreter, same installed packages).
Targets (this tree): ``--version`` < 0.15 s, ``validate`` of a spec without ``--db`` < 0.5 s.

``validate`` runs twice: on the spec as it is (``--spec``; with a ``schema:`` block its names and
types are checked, with segrules' own types: no Ibis) and on a copy without its ``schema:`` block
(the expressions and sections are checked, not the column types). Each tree is byte-compiled
first, as an installed package is: with ``PYTHONDONTWRITEBYTECODE`` set (as on this workplace's
machines) every fresh process would otherwise compile segrules from source.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {"segrules --version": 0.15, "segrules validate SPEC": 0.5, "segrules validate SPEC (no schema block)": 0.5}
# the console script is `from segrules.cli import entry; entry()`: run the same from -c, so that
# PYTHONPATH picks the tree to measure
ENTRY = "import sys; from segrules.cli import entry; sys.argv[0] = 'segrules'; entry()"


def commands(spec: str, untyped_spec: str) -> dict[str, list[str]]:
    return {
        "python -c pass": ["-c", "pass"],
        "python -c 'import segrules'": ["-c", "import segrules"],
        "segrules --version": ["-c", ENTRY, "--version"],
        "segrules validate SPEC": ["-c", ENTRY, "validate", spec],
        "segrules validate SPEC (no schema block)": ["-c", ENTRY, "validate", untyped_spec],
    }


def untyped(spec: str, folder: Path) -> str:
    """A copy of ``spec`` in ``folder`` without its ``schema:`` block."""
    import yaml

    document = yaml.safe_load(Path(spec).read_text())
    document.pop("schema", None)
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / Path(spec).name
    copy.write_text(yaml.safe_dump(document, sort_keys=False))
    return str(copy)


def byte_compile(source: Path) -> None:
    """Write the bytecode of ``source``'s packages, as installing them does."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(source / "segrules"), str(source / "plugins")],
                   env=env, check=True, stdout=subprocess.DEVNULL)


def export(rev: str, into: Path) -> Path:
    """The sources of git revision ``rev`` (segrules/, plugins/ and its own segment_specs/, which
    its validate reads: a newer spec may use keys it does not know) under ``into``."""
    data = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "segrules", "plugins", "segment_specs"], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as archive:
        archive.extractall(into, filter="data")
    return into


def environment(source: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source), str(source / "plugins")])}
    env.pop("PYTHONSTARTUP", None)
    return env


def check_source(env: dict[str, str], source: Path, cwd: Path) -> None:
    """The tree on PYTHONPATH is the one imported (not the installed one)."""
    found = subprocess.run([sys.executable, "-c", "import segrules, segrules_rfm; print(segrules.__file__); "
                            "print(segrules_rfm.__file__)"], env=env, cwd=cwd, capture_output=True, text=True,
                           check=True)
    for line in found.stdout.split():
        if not Path(line).resolve().is_relative_to(source.resolve()):
            sys.exit(f"PYTHONPATH does not pick {source}: {line} imported")


def time_once(args: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(trees: dict[str, Path], spec: str, runs: int, cwd: Path) -> dict[tuple[str, str], list]:
    """(wall, cpu) seconds per run, by (tree, command). ``cwd``: an empty folder (``python -c``
    puts the working folder first on sys.path). ``spec``: a path in the repository (each tree
    validates its own copy) or elsewhere (the same file for every tree)."""
    times: dict[tuple[str, str], list] = {}
    envs, untyped_specs = {}, {}
    for index, (name, source) in enumerate(trees.items()):
        envs[name] = environment(source)
        check_source(envs[name], source, cwd)
        byte_compile(source)
        untyped_specs[name] = untyped(spec_in(source, spec), cwd.parent / f"untyped{index}")
    for _ in range(runs):
        for name, source in trees.items():
            for label, args in commands(spec_in(source, spec), untyped_specs[name]).items():
                times.setdefault((name, label), []).append(time_once(args, envs[name], cwd))
    return times


def spec_in(tree: Path, spec: str) -> str:
    path = Path(spec).resolve()
    return str(tree / path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def wall(times: list) -> list[float]:
    return [w for w, _ in times]


def report(times: dict[tuple[str, str], list], trees: list[str]) -> str:
    """A Markdown table per tree: wall median and min, over the baseline, CPU median."""
    head = " | ".join(f"{t}: median | min | over baseline | CPU median" for t in trees)
    lines = [f"| command | {head} |", "|---|" + "---:|---:|---:|---:|" * len(trees)]
    base = {t: statistics.median(wall(times[(t, "python -c pass")])) for t in trees}
    for label in dict.fromkeys(label for _, label in times):
        cells = []
        for t in trees:
            runs = times[(t, label)]
            median = statistics.median(wall(runs))
            over = "" if label == "python -c pass" else f"{median - base[t]:+.3f} s"
            cells += [f"{median:.3f} s", f"{min(wall(runs)):.3f} s", over,
                      f"{statistics.median(c for _, c in runs):.3f} s"]
        lines.append(f"| `{label}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="fresh processes per command (default 20)")
    parser.add_argument("--spec", default="segment_specs/ecommerce.yaml", help="the spec validate reads")
    parser.add_argument("--compare", metavar="REV", help="also measure the sources of this git revision")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {}
        if args.compare:
            trees[args.compare] = export(args.compare, Path(tmp) / "before")
        trees["this tree"] = ROOT
        (Path(tmp) / "cwd").mkdir()
        times = measure(trees, str(Path(args.spec).resolve()), args.runs, Path(tmp) / "cwd")
        print(f"{args.runs} runs per command, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
              f"load average {os.getloadavg()[0]:.1f}")
        print(report(times, list(trees)))
    medians = {label: statistics.median(wall(times[("this tree", label)])) for label in TARGETS}
    missed = [f"{label}: median {medians[label]:.3f} s > {limit} s" for label, limit in TARGETS.items()
              if medians[label] > limit]
    for line in missed:
        print(f"over target: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
