"""Fuzzing the public entry points (issue 12): whatever the input, ``segrules validate`` (load,
then validate offline and against a small DuckDB) ends in success or in SegrulesError
diagnostics, never in another exception; and every crash ever found, kept in
``tests/fuzz_corpus/``, is replayed. Seeded (derandomized), a few seconds in all; the long run
for releases is ``bench/fuzz.py`` (docs/testing.md)."""

from __future__ import annotations

import json
import random
import shlex
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzkit
import segrules
from segrules.cli import main
from segrules.lang import unparse
from strategies_ast import expressions
from strategies_rules import rule_sets, spec_as_text

# Inputs come from fuzzkit's generators seeded by hypothesis (a plain random.Random is ~100x
# faster than one hypothesis routes every call through); a failure prints the seed.
SEEDS = st.integers(0, 2**32 - 1).map(random.Random)
CORPUS = Path(__file__).parent / "fuzz_corpus"
FUZZ = settings(max_examples=150, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))

# The reproductions of issue 12 (and the fuzzer's first finds) that once crashed at compile or run.
ISSUE_12 = {
    "in_list_400.yaml", "not_300.yaml", "not_200.yaml", "and_chain_300.yaml", "unary_minus_200.yaml",
    "segment_chain_350.yaml", "feature_chain_200.yaml", "param_huge_int.yaml", "segments_commas.yaml",
    "round_decimal_40.yaml", "now_minus_huge_duration.yaml", "round_huge_scale.yaml",
    "decimal_product_rescale.yaml", "decimal_product_overflow.yaml", "add_months_huge.yaml",
    "duration_huge_is_not_null.yaml",
}

SPEC_HEAD = yaml.safe_dump({
    "version": 1, "name": "fuzz", "entity": {"table": "people", "key": "id"},
    "sources": {"txns": {"table": "txns", "key": "id", "time": "at"}},
    "params": {"n": 5, "s": "a", "t": "2024-01-31", "recent": "30d"},
    "schema": fuzzkit.SCHEMA}, sort_keys=False)


@pytest.fixture(scope="module")
def oracle():
    return fuzzkit.Oracle()


@pytest.fixture(scope="module")
def db_oracle(oracle):
    con = fuzzkit.small_duckdb()
    yield fuzzkit.Oracle(con, oracle.registry, run=True)
    con.disconnect()


def _spec_with(where: str, feature: str = "age + 1") -> str:
    body = {"features": {"f0": feature}, "segments": {"s0": {"where": where}}}
    return SPEC_HEAD + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)


def test_fuzz_every_terminal_has_samples():
    """The grammar-driven generator knows every terminal of grammar.lark: a new terminal needs
    samples in fuzzkit.TERMINALS (keywords and punctuation are taken from the grammar)."""
    from segrules.lang.parser import build_lark

    lark = build_lark()
    for name in fuzzkit.terminal_names():
        pattern = lark.get_terminal(name).pattern
        assert name in fuzzkit.TERMINALS or pattern.type == "str", f"no samples for terminal {name}"
    texts = {fuzzkit.expression(random.Random(seed)) for seed in range(50)}
    assert len(texts) > 40


@FUZZ
@given(SEEDS)
def test_fuzz_grammar_sentences_in_a_spec(oracle, rng):
    text = fuzzkit.expression(rng, rng.randint(2, 16))
    oracle.check(_spec_with(text))
    oracle.check(_spec_with("true", feature=text))


@FUZZ
@given(expressions(max_leaves=20))
def test_fuzz_ast_expressions_in_a_spec(oracle, node):
    oracle.check(_spec_with(unparse(node)))


@settings(FUZZ, max_examples=400)
@given(SEEDS)
def test_fuzz_spec_shaped_yaml(oracle, rng):
    oracle.check(fuzzkit.generate(rng))


@settings(FUZZ, max_examples=12)
@given(SEEDS)
def test_fuzz_spec_shaped_yaml_on_duckdb(db_oracle, rng):
    db_oracle.check(fuzzkit.spec_text(rng, 0.01))


@settings(FUZZ, max_examples=12)
@given(rule_sets())
def test_fuzz_well_typed_rules_validate_and_run_on_duckdb(db_oracle, spec):
    text = yaml.safe_dump(dict(spec_as_text(spec), schema={t: dict(c) for t, c in fuzzkit.SCHEMA.items()}),
                          sort_keys=False, allow_unicode=True)
    assert db_oracle.check(text) in ("ran", "run:SR700") or db_oracle.check(text).startswith("invalid:")


@settings(FUZZ, max_examples=16)
@given(SEEDS, st.sampled_from(["text", "json", "github", "junit"]))
def test_fuzz_validate_command_in_every_format(tmp_path_factory, rng, fmt):
    """The CLI itself (its formatters quote what the diagnostics quote): exit 0, 1 or 2, no traceback."""
    path = tmp_path_factory.mktemp("cli") / "spec.yaml"
    path.write_bytes(fuzzkit.generate(rng).encode("utf-8", "surrogatepass"))  # a surrogate: not UTF-8
    result = CliRunner().invoke(main, ["validate", str(path), "--format", fmt])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code in (0, 1, 2) and "Traceback" not in result.output, result.output


# --- the crash corpus ---------------------------------------------------------------------
def _header(text: str, key: str) -> str | None:
    for line in text.splitlines():
        if line.startswith(f"# {key}: "):
            return line[len(key) + 4:]
    return None


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb")
    fuzzkit.small_duckdb(path).disconnect()
    return path


@pytest.mark.parametrize("name", [p.name for p in sorted(CORPUS.iterdir())])
def test_fuzz_corpus_replays_without_a_crash(db_oracle, corpus_db, name):
    """Each crash ever found gives diagnostics or correct output: through the API (load,
    validate offline and on DuckDB, run) and, for files with ``# args:``, through the CLI."""
    path = CORPUS / name
    text = path.read_text(encoding="utf-8")
    expect = _header(text, "expect")
    if path.suffix == ".json":  # a text no UTF-8 file can hold (a lone surrogate), JSON-escaped
        entry = json.loads(text)
        text, expect = entry["text"], entry.get("expect")
    outcome = db_oracle.check(text, str(path))
    # a run error is allowed only where the file expects it (the data makes a valid rule fail)
    assert outcome in ("ran", expect) or outcome.split(":")[0] in ("load", "invalid"), outcome
    assert expect is None or outcome == expect
    args = _header(text, "args")
    if args is not None:
        for command in (["validate", str(path), "--db", corpus_db],
                        ["run", str(path), "--db", corpus_db, "--as-of", "2024-06-15", *shlex.split(args)]):
            result = CliRunner().invoke(main, command)
            assert result.exception is None or isinstance(result.exception, SystemExit), (
                f"segrules {' '.join(command)} raised {result.exception!r}:\n{result.output}")
            assert result.exit_code in (0, 1, 2) and "Traceback" not in result.output, result.output


def test_fuzz_integer_overflow_on_data_is_sr703_with_a_hint(corpus_db):
    """A valid rule whose integer arithmetic this data makes overflow: the database's error as
    SR703, with the hint naming the cause and the remedy; exit 2, no traceback."""
    result = CliRunner().invoke(main, ["run", str(CORPUS / "int64_overflow_on_data.yaml"), "--db", corpus_db,
                                       "--as-of", "2024-06-15"])
    assert result.exit_code == 2, result.output
    assert "SR703" in result.output and "Overflow in" in result.output and "Traceback" not in result.output
    assert "int64" in result.output and "x * 1.0" in result.output


def test_fuzz_corpus_holds_every_issue_12_reproduction():
    names = {p.name for p in CORPUS.iterdir()}
    assert ISSUE_12 <= names
    assert {"yaml_alias_bomb.yaml", "yaml_tag_bool.yaml", "yaml_tag_timestamp.yaml", "yaml_tag_int_only.yaml",
            "nul_in_a_string.yaml", "lone_surrogate.json"} <= names


def test_fuzz_bench_command_in_the_docs_runs_as_shown():
    """docs/testing.md's bench/fuzz.py command, run as shown (its own process: its worker pool
    forks, which a threaded pytest process must not): the same stages, every input counted, no
    crash (the seconds and the rate vary; the counts follow the code)."""
    import re
    import subprocess
    import sys

    root = Path(__file__).parent.parent
    docs = (root / "docs" / "testing.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Fuzzing segrules itself"):]
    command = re.search(r"```sh\n(python bench/fuzz\.py [^\n]*)\n```", section).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1).splitlines()
    done = subprocess.run([sys.executable, *shlex.split(command)[1:]], cwd=root, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    n = int(re.search(r"--n (\d+)", command).group(1))
    def shape(line):
        return re.sub(r"in [0-9,]+ s on", "in N s on", re.sub(r"[0-9,]+/s$", "N/s", line))
    assert shape(lines[0]) == shape(shown[0]) and lines[0].startswith(f"{n} inputs"), (lines[0], shown[0])
    stages = [line.split() for line in lines[1:] if re.fullmatch(r"  \w+ +\d+", line)]
    assert {s[0] for s in stages} <= {"load", "valid", "invalid", "run", "ran"} and len(stages) >= 3
    assert sum(int(s[1]) for s in stages) == n
    assert lines[-1] == shown[-1] == "crashes (non-diagnostic exceptions): 0"
