"""The Segment and RudderStack example specs of docs/sync.md run against the tracking-API
emulator on the demo shop, through ``segrules sync`` as the docs show it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

import segrules
from segrules.cli.app import main
from emulators import TrackingEmulator

ROOT = Path(__file__).resolve().parent.parent
KEY = "wk_docs_3Jd9sQ1xV"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from segrules.demo import write_demo_data
    db = tmp_path_factory.mktemp("shop") / "shop.duckdb"
    write_demo_data(db, customers=400, seed=3)
    return db


def _vips(db, key: str) -> set[str]:
    spec = segrules.load(ROOT / "docs" / "examples" / "sync_segment.yaml")
    con = segrules.connect(str(db), read_only=True)
    try:
        t = spec.evaluate(con, as_of="2026-10-01", segments=["vip"]).to_pyarrow()
        ids = t.filter(t["vip"])[spec.key].to_pylist()
        if key == "customer_id":
            return {str(i) for i in ids}
        emails = con.table("customers").select("customer_id", "email").to_pyarrow().to_pylist()
        return {r["email"].strip().lower() for r in emails if r["customer_id"] in set(ids)}
    finally:
        con.disconnect()


def _sync(spec: Path, db, state, env) -> str:
    result = CliRunner().invoke(main, ["sync", str(spec), "--db", str(db), "--as-of", "2026-10-01",
                                       "--state", str(state)], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_sync_tracking_docs_segment_example_runs(shop, tmp_path):
    text = (ROOT / "docs" / "examples" / "sync_segment.yaml").read_text()
    with TrackingEmulator(KEY) as em:
        spec = tmp_path / "sync_segment.yaml"
        spec.write_text(text.replace("    type: segment\n", f"    type: segment\n    base_url: {em.url}\n"))
        out = _sync(spec, shop, tmp_path / "s.duckdb", {"SEGMENT_WRITE_KEY": KEY})
        vips = _vips(shop, "customer_id")
        assert vips and em.trait_members("vip") == vips and "vip_to_segment" in out
        some = next(iter(vips))
        assert set(em.traits[some]) == {"email", "ltv", "vip"}
        _sync(spec, shop, tmp_path / "s.duckdb", {"SEGMENT_WRITE_KEY": KEY})
        assert em.events == len(vips)  # the second run had nothing to send


def test_sync_tracking_docs_rudderstack_example_runs(shop, tmp_path):
    spec = ROOT / "docs" / "examples" / "sync_rudderstack.yaml"
    with TrackingEmulator(KEY) as em:
        _sync(spec, shop, tmp_path / "s.duckdb", {"RUDDERSTACK_WRITE_KEY": KEY, "RUDDERSTACK_DATA_PLANE_URL": em.url})
        assert em.event_members("vip_customers") == _vips(shop, "email")
