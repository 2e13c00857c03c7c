"""docs/plugins/rfm.md is true: its codes are the plugin's, its label map is the shipped one, and
its diagnostics are the real output (tests/test_docs_commands.py runs the worked example's commands
and compares what they print)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import segrules
from segrules.diagnostics import render

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "plugins" / "rfm.md").read_text(encoding="utf-8")
PLUGIN = ROOT / "plugins" / "segrules_rfm"


def test_rfm_docs_every_code_documented_and_used():
    used = set()
    for path in PLUGIN.glob("*.py"):
        used |= set(re.findall(r'"(RFM\d{3})"', path.read_text(encoding="utf-8")))
    documented = set(re.findall(r"^\| (RFM\d{3}) \|", DOC, re.M))
    assert used == documented


def test_rfm_docs_label_map_is_the_shipped_one():
    shipped = yaml.safe_load((PLUGIN / "data" / "labels.yaml").read_text(encoding="utf-8"))["labels"]
    documented = dict(re.findall(r"^\| ([A-Z][\w' ]+) \| `([^`]+)` \|$", DOC, re.M))
    assert documented == {label: item["rule"] for label, item in shipped.items()}


def test_rfm_docs_custom_label_example_reports_what_the_page_shows():
    snippet = re.search(r"```yaml\n(rfm:\n  source: orders\n  amount: amount\n  bins: 3\n.*?)```", DOC, re.S).group(1)
    text = ("version: 1\nname: shop\nentity: {table: customers, key: customer_id}\nsources:\n"
            "  orders: {table: orders, key: customer_id, time: ordered_at}\n" + snippet
            + "segments:\n  vip: {where: rfm.label == 'VIP'}\n"
            + "schema:\n  customers: {customer_id: int64}\n"
            + "  orders: {customer_id: int64, ordered_at: timestamp, amount: float64}\n")
    spec = segrules.load_text(text, "labels_demo.yaml")
    shown = re.search(r"`segrules validate labels_demo.yaml.*?```text\n(.*?)```", DOC, re.S).group(1)
    rendered = "\n".join(render(d, {"labels_demo.yaml": text}) + "\n" for d in spec.validate())
    assert rendered.strip() == shown.strip()
