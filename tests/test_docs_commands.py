"""Every command shown in README.md, docs/*.md and docs/plugins/*.md runs, and prints what the page
shows (tests/docs_commands.py says what a command is and how it runs: each page is a walk-through
in a fresh copy of the repository).

A command is run here, or mapped in :data:`MAPPED` to the test that runs it (a test elsewhere that
needs more than a shell: a fresh virtual environment, the test suite itself, a plugin module
imported under another name); :func:`test_docs_commands_every_one_is_run_or_mapped` fails on any
other. :data:`NOT_YET` lists commands that fail today because another part of issue 13 changes
them; each must fail (strict), so the entry goes when the fix lands.

After a change of output formats, regenerate the outputs shown and review the diff::

    SEGRULES_POSTGRES_URL=postgres://... python tests/test_docs_commands.py --update [PAGE ...]
"""

from __future__ import annotations

import ast
import os
import re
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import docs_commands as dc  # noqa: E402

ROOT = dc.ROOT
PG_URL = os.environ.get("SEGRULES_POSTGRES_URL")

# (page, first line of the command) -> the test that runs it ("file::test").
EXCERPT = "tests/test_docs.py::test_docs_plugins_excerpts_are_from_the_example_plugin"
SIGNATURE = "tests/test_docs_commands.py::test_docs_commands_hook_signatures_are_the_hookspecs"
MAPPED: dict[tuple[str, str], str] = {
    ("README.md", "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/segrules demo-data shop.duckdb "
                  "&& .venv/bin/segrules run segment_specs/ecommerce.yaml --db shop.duckdb --as-of 2026-10-01"):
        "tests/test_readme_setup.py::test_readme_demo_line_runs_in_a_fresh_venv",
    ("README.md", 'python3 -m venv .venv && .venv/bin/pip install -q -e ".[test]" && .venv/bin/pytest -q'):
        "tests/test_readme_setup.py::test_readme_test_command_is_what_ci_runs",
    ("docs/testing.md", "python bench/fuzz.py --n 150 --seed 7 --jobs 1 --db-every 30"):
        "tests/test_fuzz.py::test_fuzz_bench_command_in_the_docs_runs_as_shown",
    ("docs/performance.md", "nice python bench/run_cohorts.py --customers 1000000 --events-per-customer 20 "
                            "--repeat 3 --formulations all"):
        "tests/test_bench_cohorts_sql.py::test_bench_cohorts_documented_command_runs",
    ("docs/performance.md", "nice python bench/run_cohorts.py --customers 10000000 --events-per-customer 10 "
                            "--repeat 1"):
        "tests/test_bench_cohorts_sql.py::test_bench_cohorts_documented_command_runs",
    ("docs/plugins.md", "import ibis"): "tests/test_docs.py::test_docs_plugins_testing_example_runs",
    # Spark in its own JVM (the event log is a setting of a new session), on the Spark worker
    **{("docs/performance.md", command): "tests/test_spark_backend.py::test_spark_bench_documented_command_runs_at_a_small_size"
       for command in ("python bench/run_spark.py --customers 10000 --repeat 3",
                       "python bench/run_spark.py --customers 10000000 --events-per-customer 10 --repeat 1 --no-warmup "
                       "--split-mb 128 --shuffle-partitions 16 --driver-memory 12g")},
    # it reads the git history of the repository (--compare REV), which a copy of the files lacks
    ("docs/performance.md", "python bench/startup.py --runs 15 --compare 0b311e1                # start-up of "
                            "the command line"): "tests/test_cli_startup.py::test_cli_startup_documented_bench_command_runs",
    ("docs/performance.md", "python bench/startup.py --runs 15 --compare 0b311e1"):
        "tests/test_cli_startup.py::test_cli_startup_documented_bench_command_runs",
    # needs the demo shop in a Spark database: run in the test run's SparkSession, compared with DuckDB
    ("README.md", "segrules run segment_specs/ecommerce.yaml --target lake --as-of 2026-10-01"):
        "tests/test_spark_features.py::test_spark_features_readme_lake_profile_runs_as_shown",
    # the test environment's own mypy, run from the repository and compared with the page
    ("docs/testing.md", ".venv/bin/mypy"): "tests/test_types.py::test_types_mypy_strict_passes_as_documented",
    **{("docs/plugins.md", first): EXCERPT for first in (
        "def _compile_domain(email):", "class Export(BaseModel):", "def _spend_fields(config: Spend) -> list[ValueField]:",
        "def _suppressed(segment: str, suppress: str):", "def check_exports(ctx):",
        "def write_jsonl(table, target: str, options: dict) -> SinkResult:",
        "def export_audiences(spec, con, *, as_of=None) -> list[SinkResult]:")},
}
# docs/realtime.md's walk-through starts a server in the background: its test runs the block as one script
from serve_helpers import walkthrough  # noqa: E402

MAPPED.update({("docs/realtime.md", c.text.splitlines()[0]):
               "tests/test_serve_process.py::test_serve_process_docs_walkthrough_runs" for c in walkthrough()})
HOOK_SIGNATURE = re.compile(r"def (register_\w+)\(\) -> [\w\[\].]+")

# (page, first line) -> why it fails on this branch; it must fail until the change lands.
NOT_YET: dict[tuple[str, str], str] = {}


def _key(c: dc.Command) -> tuple[str, str]:
    return c.page, c.text.splitlines()[0]


def _mapped(c: dc.Command) -> str | None:
    if c.kind == "python" and HOOK_SIGNATURE.fullmatch(c.text.strip()):
        return SIGNATURE
    return MAPPED.get(_key(c))


def test_docs_commands_every_one_is_run_or_mapped():
    """Lists every command found; each runs in test_docs_commands_page or is mapped to a test that
    exists; no '$ ' session outside a console block; no mapping or NOT_YET entry is stale."""
    found = [c for page in dc.PAGES for c in dc.commands(page)]
    print("\n".join(f"{'mapped to ' + _mapped(c) if _mapped(c) else 'run'}: {c}" for c in found))
    assert len(found) >= 80
    assert [s for page in dc.PAGES for s in dc.stray_prompts(page)] == []
    keys = {_key(c) for c in found}
    assert set(MAPPED) <= keys, f"mapped commands not on the pages: {set(MAPPED) - keys}"
    assert set(NOT_YET) <= keys, f"NOT_YET commands not on the pages: {set(NOT_YET) - keys}"
    for c in found:
        target = _mapped(c)
        if target is None:
            continue
        path, name = target.split("::")
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        assert name in {f.name for f in ast.walk(tree) if isinstance(f, ast.FunctionDef)}, f"{c}: no {target}"


def test_docs_commands_hook_signatures_are_the_hookspecs():
    """The one-line hook signatures shown in docs/plugins.md are those of segrules.plugin.hookspecs."""
    import inspect

    from segrules.plugin import hookspecs
    shown = [c.text.strip() for c in dc.commands("docs/plugins.md")
             if c.kind == "python" and HOOK_SIGNATURE.fullmatch(c.text.strip())]
    assert len(shown) >= 8
    for line in shown:
        name = HOOK_SIGNATURE.fullmatch(line)[1]
        signature = inspect.signature(getattr(hookspecs, name))
        assert not signature.parameters, line
        declared, shown_type = str(signature.return_annotation).strip("'"), line.split("-> ")[1]
        # the docs may name the items of a bare `list` annotation, never contradict it
        assert declared == shown_type or shown_type.startswith(declared + "["), line


@pytest.fixture(scope="module")
def webhook():
    from emulators import WebhookReceiver
    with WebhookReceiver() as receiver:
        yield receiver.url


def _needs_postgres(page: str) -> bool:
    return any(dc.PG_URL.search(c.text) or dc.PG_ENV in c.text for c in dc.commands(page))


@pytest.mark.parametrize("page", dc.PAGES)
def test_docs_commands_page(page, tmp_path, webhook):
    """The page's commands in order in a fresh copy of the repository: each exits as shown and
    prints the output shown; a NOT_YET command still fails."""
    if _needs_postgres(page) and PG_URL is None:
        if os.environ.get("CI"):
            raise RuntimeError("CI=true but SEGRULES_POSTGRES_URL is not set: .ci/run must start PostgreSQL")
        pytest.skip(f"{page} shows PostgreSQL commands: set SEGRULES_POSTGRES_URL")
    run = dc.PageRun(dc.fresh_clone(tmp_path), PG_URL, webhook)
    wrong, fixed = [], []
    for c in dc.commands(page):
        if _mapped(c):
            continue
        result = run.run(c)
        if _key(c) in NOT_YET:
            if result.ok:
                fixed.append(f"{c}: passes now; remove it from NOT_YET ({NOT_YET[_key(c)]})")
        elif not result.ok:
            wrong.append(result.report())
    assert not wrong + fixed, "\n\n".join(wrong + fixed) + "\n\nregenerate outputs: python tests/test_docs_commands.py --update"


def update(pages: list[str]) -> None:
    """Run ``pages`` and rewrite their console outputs (what ``--update`` does)."""
    from emulators import WebhookReceiver
    with WebhookReceiver() as receiver:
        for page in pages:
            with tempfile.TemporaryDirectory() as tmp:
                run = dc.PageRun(dc.fresh_clone(Path(tmp)), PG_URL, receiver.url)
                results = [run.run(c) for c in dc.commands(page) if not _mapped(c)]
            failed = [r for r in results if r.exit != r.command.exit and _key(r.command) not in NOT_YET]
            changed = dc.update_page(page, results)
            print(f"{page}: {'updated' if changed else 'current'}"
                  + "".join(f"\n  exit {r.exit}, page says {r.command.exit}: {r.command}" for r in failed))


if __name__ == "__main__":
    args = sys.argv[1:]
    if not args or args[0] != "--update":
        sys.exit("usage: python tests/test_docs_commands.py --update [PAGE ...]")
    update(args[1:] or dc.PAGES)
