"""segment_specs/behaviour.yaml and the README's behavioural rules, on the demo shop.

The spec's own cases run in tests/test_spec_tests.py and its DuckDB/PostgreSQL agreement in
tests/test_backends.py; here: the README block is valid against the demo shop, the spec runs
there through the CLI, and a few of its segments agree with a plain-Python reading of the data.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta
from pathlib import Path

import ibis
import pytest
import yaml
from click.testing import CliRunner

import segrules
from segrules.cli import main
from segrules.demo import write_demo_data

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "segment_specs" / "behaviour.yaml"
NOW = datetime(2026, 11, 1, 6, 30)


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("behaviour") / "shop.duckdb"
    write_demo_data(path, customers=3000, seed=5, now=NOW)
    return path


def _readme_block() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Behavioural rules"):text.index("## RFM segments")]
    return yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))


def test_behaviour_readme_rules_validate_and_run_on_the_demo_shop(shop):
    block = _readme_block()
    head = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    spec_text = yaml.safe_dump({
        "version": 1, "name": "readme", "entity": head["entity"], "sources": head["sources"],
        "params": block["params"], "features": block["features"], "segments": block["segments"]})
    spec = segrules.load_text(spec_text, "README.md")
    con = ibis.duckdb.connect(str(shop), read_only=True)
    assert not [d for d in spec.validate(con) if d.is_error]
    wide = spec.evaluate(con, as_of=NOW).to_pyarrow().to_pylist()
    assert len(wide) > 0 and all(isinstance(row["holdout"], bool) for row in wide)


def test_behaviour_spec_runs_through_the_cli(shop):
    result = CliRunner().invoke(main, ["run", str(SPEC), "--db", str(shop), "--as-of", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    for segment in ("cart_abandoners", "activated_first_week", "top_10pct_spenders", "holdout"):
        assert segment in result.output


def test_behaviour_spec_agrees_with_plain_python_on_the_demo_shop(shop):
    """Three of the seed situations, read straight off the rows."""
    con = ibis.duckdb.connect(str(shop), read_only=True)
    spec = segrules.load(SPEC)
    wide = {r["customer_id"]: r for r in spec.evaluate(con, as_of=NOW, features=[]).to_pyarrow().to_pylist()}
    customers = {r["customer_id"]: r for r in con.table("customers").to_pyarrow().to_pylist()
                 if r["signup_at"] is not None and r["signup_at"] <= NOW}
    orders = [r for r in con.table("orders").to_pyarrow().to_pylist() if r["ordered_at"] <= NOW]
    events = [r for r in con.table("events").to_pyarrow().to_pylist() if r["ts"] <= NOW]
    assert wide.keys() == customers.keys()

    holdout = {k for k in customers if int(hashlib.md5(f"spring_2026:{k}".encode()).hexdigest()[:8], 16) % 10 == 0}
    activated = {o["customer_id"] for o in orders if o["status"] == "paid" and o["customer_id"] in customers
                 and o["ordered_at"] <= customers[o["customer_id"]]["signup_at"] + timedelta(days=7)}
    carts = [e for e in events if e["name"] == "add_to_cart" and e["ts"] > NOW - timedelta(days=3)]
    paid = {}
    for o in orders:
        if o["status"] == "paid" and o["ordered_at"] > NOW - timedelta(days=3):
            paid.setdefault(o["customer_id"], []).append(o["ordered_at"])
    converted = {c["customer_id"] for c in carts
                 if any(c["ts"] < t <= c["ts"] + timedelta(days=3) for t in paid.get(c["customer_id"], []))}
    abandoners = {c["customer_id"] for c in carts} - converted
    for name, expected in (("holdout", holdout), ("activated_first_week", activated),
                           ("cart_abandoners", abandoners)):
        got = {k for k, r in wide.items() if r[name]}
        assert got == expected, (name, sorted(got ^ expected)[:10])
        assert expected, f"{name} is empty on the demo shop: the comparison would prove nothing"


def test_behaviour_duration_parameter_overrides_through_the_cli(shop):
    """`--param abandon_window=5d` widens the window (as Spec.evaluate with the same override);
    a value that is not a duration is SR110, exit 2, nothing run."""
    spec = segrules.load(SPEC)
    con = ibis.duckdb.connect(str(shop), read_only=True)
    counts = {}
    for window in ("3d", "5d"):
        rows = spec.evaluate(con, as_of=NOW, params={"abandon_window": window}, segments=["cart_abandoners"],
                             features=[]).to_pyarrow().to_pylist()
        counts[window] = sum(r["cart_abandoners"] for r in rows)
    assert counts["3d"] != counts["5d"]
    con.disconnect()
    result = CliRunner().invoke(main, ["run", str(SPEC), "--db", str(shop), "--as-of", NOW.isoformat(),
                                       "--segments", "cart_abandoners", "--param", "abandon_window=5d"])
    assert result.exit_code == 0, result.output
    assert re.search(rf"cart_abandoners\D+{counts['5d']:,}\b", result.output), result.output
    bad = CliRunner().invoke(main, ["run", str(SPEC), "--db", str(shop), "--param", "abandon_window=5"])
    assert bad.exit_code == 2 and "SR110" in bad.output and "is a duration" in bad.output
