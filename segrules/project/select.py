"""``--select``: which segments (and so which specs) a command works on.

Grammar (docs/project.md#selecting-segments)::

    select    := selector ([, ]+ selector)*     several --select options add up too: a union
    selector  := ["+"] method-value ["+"]
    method-value := NAME | "tag:" TAG | "owner:" OWNER | "path:" GLOB | "spec:" NAME | "segment:" NAME

``+x`` adds what x depends on (the segments its rule reads through ``segment()``, also through
features, transitively), ``x+`` what depends on x. Names, tags and owners may use shell
wildcards (``churn_*``). A path selects every segment of the specs it names (relative to the
project file, else to the current folder). A selector matching nothing is an error (SR166), an
unknown method too (SR165): a typo must not silently select nothing.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import SpecError
from .files import matches

METHODS = ("segment", "tag", "owner", "path", "spec")
_SPLIT = re.compile(r"[,\s]+")


@dataclass(frozen=True)
class Selector:
    method: str
    value: str
    parents: bool = False   # +x: and what x depends on
    children: bool = False  # x+: and what depends on x
    text: str = ""

    def __str__(self) -> str:
        return self.text


def parse_selectors(values: Iterable[str]) -> list[Selector]:
    """``["tag:crm,+vip", "owner:growth"]`` -> selectors (a union). SR165 for a bad one."""
    out = []
    for value in values:
        for text in _SPLIT.split(value.strip()):
            if text:
                out.append(_parse_one(text))
    if not out and any(True for _ in values):
        raise SpecError("--select: no selector given", code="SR165",
                        hint="e.g. --select big_spenders, tag:crm, owner:growth, +vip, path:segment_specs/crm/*")
    return out


def _parse_one(text: str) -> Selector:
    body, parents, children = text, text.startswith("+"), text.endswith("+") and len(text) > 1
    body = body[1 if parents else 0: len(body) - (1 if children else 0)]
    method, sep, value = body.partition(":")
    if not sep:
        method, value = "segment", body
    if method not in METHODS:
        raise SpecError(f"--select {text}: unknown selector method {method!r}", code="SR165",
                        hint=f"methods: {', '.join(m + ':' for m in METHODS)} (a bare name is segment:)")
    if not value:
        raise SpecError(f"--select {text}: {method}: needs a value", code="SR165")
    if (parents or children) and method == "path":
        raise SpecError(f"--select {text}: + works with segments, tags, owners and specs, not paths",
                        code="SR165")
    return Selector(method, value, parents, children, text)


def dependencies(spec) -> dict[str, set[str]]:
    """Segment -> the segments its rule reads through ``segment()``, directly or through
    features (from the expressions alone: no schema needed). Unparsable rules read nothing."""
    from ..check import parse_expressions
    from ..lang import ast as a
    features, segments, _ = parse_expressions(spec.document)

    def reads(node) -> tuple[set[str], set[str]]:
        segs, feats = set(), set()
        for n in node.walk():
            if isinstance(n, a.SegmentRef):
                segs.add(n.name)
            elif isinstance(n, a.Name) and n.name in features:
                feats.add(n.name)
            elif isinstance(n, a.Dotted) and n.namespace == "entity" and n.name in features:
                feats.add(n.name)
        return segs, feats

    feature_reads = {name: reads(node) for name, node in features.items()}
    out: dict[str, set[str]] = {}
    for name, node in segments.items():
        segs, feats = reads(node)
        todo, seen = list(feats), set()
        while todo:
            f = todo.pop()
            if f in seen:
                continue
            seen.add(f)
            more_segs, more_feats = feature_reads.get(f, (set(), set()))
            segs |= more_segs
            todo.extend(more_feats)
        out[name] = {s for s in segs if s in spec.model.segments and s != name}
    return out


def _closure(start: set[str], edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        s = todo.pop()
        if s not in seen:
            seen.add(s)
            todo.extend(edges.get(s, ()))
    return seen


def _direct(spec, sel: Selector, base: Path) -> set[str]:
    m = spec.model
    if sel.method == "path":
        return set(m.segments) if matches(sel.value, Path(spec.path), base) else set()
    if sel.method == "spec":
        return set(m.segments) if fnmatch.fnmatchcase(m.name, sel.value) else set()
    if sel.method == "segment":
        return {s for s in m.segments if fnmatch.fnmatchcase(s, sel.value)}
    if sel.method == "tag":
        return {s for s, seg in m.segments.items() if any(fnmatch.fnmatchcase(t, sel.value) for t in seg.tags)}
    return {s for s, seg in m.segments.items() if seg.owner is not None and fnmatch.fnmatchcase(seg.owner, sel.value)}


def select_segments(specs: list, selectors: list[Selector], base: Path) -> dict[int, list[str]]:
    """Per spec (by position in ``specs``), the selected segments in the spec's order; specs
    with none left out. SR166 names the selectors that match nothing."""
    chosen: dict[int, set[str]] = {}
    unmatched = []
    for sel in selectors:
        hit = False
        for i, spec in enumerate(specs):
            found = _direct(spec, sel, base)
            if not found:
                continue
            hit = True
            if sel.parents or sel.children:
                deps = dependencies(spec)
                if sel.parents:
                    found = found | _closure(found, deps)
                if sel.children:
                    users: dict[str, set[str]] = {}
                    for s, reads in deps.items():
                        for r in reads:
                            users.setdefault(r, set()).add(s)
                    found = found | _closure(found, users)
            chosen.setdefault(i, set()).update(found)
        if not hit:
            unmatched.append(sel)
    if unmatched:
        names = ", ".join(str(s) for s in unmatched)
        raise SpecError(f"--select {names}: matches no segment of the {len(specs)} spec"
                        f"{'s' * (len(specs) != 1)} considered", code="SR166",
                        hint="a segment name, tag:NAME, owner:NAME, path:GLOB or spec:NAME; see docs/project.md")
    return {i: [s for s in specs[i].model.segments if s in names] for i, names in sorted(chosen.items())}
