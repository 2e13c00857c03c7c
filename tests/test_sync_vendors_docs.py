"""The example spec of each destination in docs/sync.md (``<!-- sync-example: NAME -->``) runs on
the demo shop against the destination's emulator, and the vendor ends holding exactly the
segment's members (their emails as the vendor keeps them: plain or hashed)."""

from __future__ import annotations

import re
from pathlib import Path

import ibis
import pytest

import segrules
from segrules.demo import write_demo_data

from vendor_platforms import BY_NAME, ENV, IDS

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = re.compile(r"<!-- sync-example: (?P<name>\w+) -->\n```yaml\n(?P<body>.*?)^```", re.S | re.M)
EXAMPLES = {m["name"]: m["body"] for m in EXAMPLE.finditer((ROOT / "docs" / "sync.md").read_text(encoding="utf-8"))}
POLLED = ("sendgrid", "google_ads")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    db = tmp_path_factory.mktemp("shop") / "shop.duckdb"
    write_demo_data(db, customers=800, seed=3)
    return db


def test_sync_vendors_docs_show_an_example_per_destination():
    assert sorted(EXAMPLES) == sorted(IDS)


@pytest.mark.parametrize("name", IDS)
def test_sync_vendors_docs_example_runs_against_the_emulator(name, shop, tmp_path):
    v = BY_NAME[name]
    with v.emulator() as emu:
        v.prepare(emu)
        local = f"base_url: {emu.url}\n    max_attempts: 5\n    backoff_base: 0.001\n    backoff_cap: 0.01"
        if name in POLLED:
            local += "\n    poll_interval: 0.005"
        text, n = re.subn(rf"^(    type: {name})$", rf"\1\n    {local}", EXAMPLES[name], flags=re.M)
        assert n == 1
        spec = segrules.load_text(text, f"docs/sync.md[{name}]")
        con = segrules.connect(str(shop))
        try:
            result = spec.sync(con, state=tmp_path / "state.duckdb", env=ENV)
            assert result.ok, [o.error for o in result.outcomes]
            (outcome,) = result.outcomes
            wide = spec.evaluate(con, segments=["vip"])
            customers = con.table("customers")
            vip = wide.filter(wide.vip).join(customers.select("customer_id", "email"), "customer_id")
            emails = [e for e in vip.email.to_pyarrow().to_pylist() if e]
        finally:
            con.disconnect()
        assert outcome.counts["added"] > 20
        assert v.audience(emu) == v.expect({e.strip().lower() for e in emails})
        again = spec.sync(segrules.connect(str(shop)), state=tmp_path / "state.duckdb", env=ENV)
        assert again.outcomes[0].counts["added"] == 0 and again.outcomes[0].counts["removed"] == 0
