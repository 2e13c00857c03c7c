"""segrules' own types (segrules/types.py) against Ibis's, and the start-up promise they exist
for: checking a typed spec offline (`segrules validate` with a `schema:` block) loads no Ibis."""

import subprocess
import sys
from pathlib import Path

import ibis
import ibis.expr.datatypes as dt
import pytest
from hypothesis import given, settings, strategies as st

from segrules import types as sty
from segrules.compile.datatypes import to_ibis, to_ibis_schema
from segrules.types import DataType, Schema, UnknownType, as_schema, from_ibis, parse_type

ROOT = Path(__file__).parent.parent

# every spelling the schema: blocks, plugins and docs use, Ibis's aliases, and names only Ibis knows
NAMES = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32", "float64",
         "double", "float", "int", "bool", "boolean", "str", "string", "varchar", "date", "time", "timestamp",
         "decimal", "decimal(12,2)", "decimal(38, 6)", "timestamp('UTC')", "timestamp(6)",
         "timestamp('Europe/Berlin', 3)", "interval('s')", "interval('D')", "!int64", "!string", "!decimal(12,2)",
         "uuid", "json", "binary", "null", "INT64", "Decimal(9,3)", "array<int64>", "map<string, int64>",
         "struct<a: int64, b: string>", "!array<string>"]
PREDICATES = ("is_null", "is_boolean", "is_integer", "is_floating", "is_decimal", "is_numeric", "is_string",
              "is_date", "is_time", "is_timestamp", "is_interval", "is_uuid", "is_binary", "is_json")


@pytest.mark.parametrize("text", NAMES)
def test_datatypes_parse_type_reads_names_as_ibis_does(text):
    """Differential: the type, its text and its predicates are Ibis's for the same name."""
    ours, theirs = parse_type(text), dt.dtype(text)
    assert to_ibis(ours) == theirs
    assert str(ours) == str(theirs)
    assert ours.nullable == theirs.nullable
    assert {p: getattr(ours, p)() for p in PREDICATES} == {p: bool(getattr(theirs, p)()) for p in PREDICATES}


@pytest.mark.parametrize("text", ["int65", "decimal(a,b)", "decimal(10)", "timestamp(", "strng", ""])
def test_datatypes_parse_type_rejects_what_ibis_rejects(text):
    with pytest.raises(UnknownType, match="unknown type"):
        parse_type(text)
    with pytest.raises(Exception):  # noqa: B017  # Ibis raises several types
        dt.dtype(text)


@settings(max_examples=40, deadline=None)
@given(precision=st.integers(1, 38), data=st.data(), nullable=st.booleans(), spaces=st.sampled_from(["", " "]))
def test_datatypes_decimals_match_ibis(precision, data, nullable, spaces):
    scale = data.draw(st.integers(0, precision))
    text = f"{'' if nullable else '!'}decimal({precision},{spaces}{scale})"
    ours = parse_type(text)
    assert (ours.precision, ours.scale, ours.nullable) == (precision, scale, nullable)
    assert to_ibis(ours) == dt.dtype(text) and str(ours) == str(dt.dtype(text))


@settings(max_examples=40, deadline=None)
@given(t=st.sampled_from([dt.int8, dt.int64, dt.uint32, dt.float32, dt.float64, dt.string, dt.boolean, dt.date,
                          dt.time, dt.timestamp, dt.uuid, dt.json, dt.binary, dt.null, dt.Array(dt.int64),
                          dt.Interval("s"), dt.Interval("D"), dt.Timestamp(timezone="UTC", scale=3),
                          dt.Timestamp(scale=6), dt.Decimal(12, 2), dt.Decimal(None, None), dt.Decimal(38, 0)]),
       nullable=st.booleans())
def test_datatypes_from_ibis_round_trips(t, nullable):
    """A database column's Ibis type comes in with from_ibis and goes back out unchanged."""
    t = t.copy(nullable=nullable)
    ours = from_ibis(t)
    assert isinstance(ours, DataType) and to_ibis(ours) == t and str(ours) == str(t)
    assert {p: getattr(ours, p)() for p in PREDICATES} == {p: bool(getattr(t, p)()) for p in PREDICATES}


def test_datatypes_schema_is_a_read_only_mapping():
    ibis_schema = ibis.schema({"id": "int64", "amount": "decimal(12,2)", "at": "timestamp('UTC')"})
    schema = as_schema(ibis_schema)
    assert schema.names == ("id", "amount", "at") and schema["amount"] == DataType("decimal", True, 12, 2)
    assert schema == Schema({"id": sty.int64, "amount": parse_type("decimal(12,2)"), "at": parse_type("timestamp('UTC')")})
    assert "id" in schema and "nope" not in schema and schema.get("nope") is None and len(schema) == 3
    assert to_ibis_schema(schema) == ibis_schema
    assert as_schema(schema) is schema
    with pytest.raises(TypeError):
        schema["id"] = sty.string  # type: ignore[index]


def test_datatypes_copy_sets_nullable():
    t = parse_type("decimal(12,2)")
    assert t.copy(nullable=False) == parse_type("!decimal(12,2)") and t.copy(nullable=True) is t
    assert str(t.copy(nullable=False)) == "!decimal(12, 2)"


def _modules_after(args: list[str]) -> tuple[int, str, list[str]]:
    code = ("import sys\nfrom segrules.cli import entry\nsys.argv = ['segrules', *sys.argv[1:]]\n"
            "try:\n    entry()\nexcept SystemExit as exc:\n    code = exc.code\n"
            "print(code, [m for m in ('ibis', 'pyarrow', 'pandas') if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    *output, last = done.stdout.strip().split("\n")
    code, loaded = last.split(" ", 1)
    return int(code), "\n".join(output) + done.stderr, eval(loaded)  # noqa: S307  # our own print of a list of names


def test_datatypes_typed_validate_loads_no_ibis():
    """`segrules validate` of the shipped specs, typed by their schema: blocks (decimal, timestamp,
    date, boolean columns; the RFM, cohorts, experiments, models and taxonomies sections, whose
    plugins check types too; the MECE prover) checks every type and loads neither Ibis nor
    pyarrow nor pandas (bench/startup.py measures what that saves). One process for all: cheap."""
    specs = ["segment_specs/", "segment_specs/examples/", "segment_specs/bench_50.yaml",
             "segment_specs/lifecycle_not_mece.yaml"]
    code, output, loaded = _modules_after(["validate", *specs])
    assert code == 1 and "lifecycle_not_mece.yaml:" in output  # a taxonomy that is not MECE, by design
    assert "segment_specs/ecommerce.yaml: valid (0 errors, 0 warnings)" in output
    assert "segment_specs/lifecycle.yaml: valid (0 errors, 0 warnings)" in output
    assert loaded == []


def test_datatypes_check_stage_imports_no_ibis_at_module_level():
    """The check stage, the built-ins' type rules, the language and the type layer import Ibis
    only inside functions (the compile code of a built-in) or for type checking."""
    import ast

    offenders = []
    for path in [ROOT / "segrules" / "types.py", *(ROOT / "segrules").glob("check/*.py"),
                 *(ROOT / "segrules").glob("builtin/*.py"), *(ROOT / "segrules").glob("lang/*.py")]:
        for node in ast.parse(path.read_text()).body:  # module level only: not under `if TYPE_CHECKING:`
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "ibis"]
    assert offenders == []


def test_datatypes_typed_validate_finds_type_errors_without_ibis(tmp_path):
    """The offline type check is a real one: a type error in a typed spec is found, positioned,
    and still without Ibis."""
    spec = (ROOT / "segment_specs" / "ecommerce.yaml").read_text()
    bad = spec.replace("where: signup_at >= now - 30d", "where: signup_at >= plan + 1")
    assert bad != spec
    (tmp_path / "bad.yaml").write_text(bad)
    code, output, loaded = _modules_after(["validate", str(tmp_path / "bad.yaml")])
    assert code == 2 and "SR403" in output and "bad.yaml:" in output
    assert loaded == []
