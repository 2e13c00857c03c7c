"""The diagnostic codes the source can produce and the ones the docs document."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# A code literal in the source: "SR123", "MECE110", "RFM111" (a new family needs its page in PAGES).
SOURCE_CODE = re.compile(r"""["']([A-Z]{2,6}\d{3})["']""")
# Where each family is documented: SR codes as headings of docs/errors.md, a plugin's codes in the
# "Codes" section of its page (single codes or ranges such as MECE101–MECE107).
PAGES = {"SR": DOCS / "errors.md", "MECE": DOCS / "plugins" / "mece.md", "RFM": DOCS / "plugins" / "rfm.md",
         "COH": DOCS / "plugins" / "cohorts.md", "FNL": DOCS / "plugins" / "funnels.md",
         "PRED": DOCS / "plugins" / "predict.md"}


def family(code: str) -> str:
    return re.match(r"[A-Z]+", code).group()


def source_codes() -> set[str]:
    codes = set()
    for folder in ("segrules", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            codes.update(SOURCE_CODE.findall(path.read_text(encoding="utf-8")))
    return codes


def documented_codes() -> set[str]:
    codes = set(re.findall(r"^#+ .*?\b(SR\d{3})\b", PAGES["SR"].read_text(encoding="utf-8"), re.M))
    for family in sorted(set(PAGES) - {"SR"}):
        text = PAGES[family].read_text(encoding="utf-8")
        section = re.search(r"^##+ [^\n]*\b(?:Codes|Diagnostics)\b[^\n]*\n(.*?)(?=^## |\Z)", text, re.M | re.S | re.I)
        assert section, f"{PAGES[family].name} has no Codes section"
        for first, last in re.findall(rf"\b({family}\d{{3}})(?:\s*[–-]\s*({family}\d{{3}}))?", section.group(1)):
            low = int(first[len(family):])
            high = int(last[len(family):]) if last else low
            codes.update(f"{family}{n}" for n in range(low, high + 1))
    return codes
