"""``segrules audit SPEC --db URL``: segment hygiene on data, in one query.

Findings: empty segments (MECE130), tiny ones (MECE131, fewer than ``--min-size`` members),
near-duplicate pairs (MECE132, Jaccard at least ``--jaccard``), and segments contained in
another (MECE133); with each segment's taxonomies.  Exit 1 when there is a finding."""

from __future__ import annotations

import json
from contextlib import nullcontext
import sys
from itertools import combinations

import click
from rich.table import Table

import segrules
from segrules.plugin import (EXIT_BAD_INPUT, Diagnostic, SegrulesError, Severity, command_specs, format_github,
                             format_junit, make_console, render)

from .intended import intended_overlap, is_finding
from .measure import Overlap, measure
from .ondata import mece_options
from .section import SOURCE, taxonomies


def findings(spec, overlap: Overlap, jaccard: float, min_size: int) -> list[Diagnostic]:
    """One warning per finding, on the segment's key; ``labels`` (segment -> short notes) is
    filled for the table."""
    return _Findings(spec, overlap).run(jaccard, min_size)


class _Findings:
    def __init__(self, spec, overlap: Overlap):
        self.spec, self.overlap = spec, overlap
        self.diags: list[Diagnostic] = []
        self.labels: dict[str, list[str]] = {}

    def at(self, segment):
        return self.spec.document.index.key_span(("segments", segment))

    def add(self, code, message, segment, label, other=None):
        related = (self.at(other),) if other else ()
        self.diags.append(Diagnostic(code, message, self.at(segment), Severity.WARNING, source=SOURCE, check=True,
                                     related=related))
        self.labels.setdefault(segment, []).append(label)

    def run(self, jaccard: float, min_size: int) -> list[Diagnostic]:
        overlap, finding = self.overlap, self.add
        for s, size in overlap.sizes.items():
            if size == 0:
                finding("MECE130", f"segment {s!r} is empty", s, "empty")
            elif size < min_size:
                finding("MECE131", f"segment {s!r} is tiny: {size:,} members (fewer than {min_size:,})", s, "tiny")
        for (a, b), (both, _) in overlap.pairs.items():
            declared = self.spec.model.intended(a, b)
            if declared is not None:
                self.diags.extend(intended_overlap(self.spec, declared, overlap, self.labels, (a, b)))
                continue
            if not both:
                continue
            j = overlap.jaccard(a, b)
            if j >= jaccard:
                finding("MECE132", f"segments {a!r} and {b!r} are near-duplicates: Jaccard {j:.3f} "
                        f"({both:,} in both, {overlap.sizes[a]:,} and {overlap.sizes[b]:,} members)", a,
                        f"≈ {b}", b)
            elif both == overlap.sizes[a] or both == overlap.sizes[b]:
                small, large = (a, b) if both == overlap.sizes[a] else (b, a)
                finding("MECE133", f"segment {small!r} is contained in {large!r}: all its {both:,} members "
                        f"are in {large!r} ({overlap.sizes[large]:,} members)", small, f"⊆ {large}", large)
        return self.diags


def memberships(spec) -> dict[str, list[str]]:
    out = {s: [] for s in spec.model.segments}
    for name, tax in taxonomies(spec.document).items():
        for s in tax.segments:
            if s in out and name not in out[s]:
                out[s].append(name)
    return out


def audit_dict(spec, overlap: Overlap, diags) -> dict:
    tax = memberships(spec)
    return {
        "spec": spec.path, "universe": overlap.universe, "ok": not any(map(is_finding, diags)),
        "segments": [{"segment": s, "members": n, "share": n / overlap.universe if overlap.universe else None,
                      "taxonomies": tax[s]} for s, n in overlap.sizes.items()],
        "pairs": [{"a": a, "b": b, "both": both, "jaccard": round(overlap.jaccard(a, b), 6)}
                  for (a, b), (both, _) in overlap.pairs.items() if both],
        "findings": [d.to_dict() for d in diags],
    }


def run_audit(specs, select, project, target, db, as_of, params, fmt, jaccard, min_size, console) -> int:
    audits = []
    try:
        for work in command_specs("audit", specs, select, project, target, db, as_of):
            spec = work.spec
            con = segrules.connect(work.db, read_only=True)
            names = work.segments or list(spec.model.segments)
            wide = spec.evaluate(con, as_of=work.as_of, params=params, segments=names, features=False,
                                 derived=False)
            with make_console(stderr=True).status(f"Auditing {len(names)} segments…") if fmt == "text" \
                    else nullcontext():
                overlap = measure(wide, spec.key, names, list(combinations(names, 2)), {}, samples=0)
            found = _Findings(spec, overlap)
            audits.append((spec, overlap, found.run(jaccard, min_size), found.labels))
    except SegrulesError as exc:
        click.echo(exc.render(), err=True)
        return EXIT_BAD_INPUT
    if fmt == "json":
        found = [audit_dict(spec, overlap, diags) for spec, overlap, diags, _ in audits]
        click.echo(json.dumps(found[0] if len(found) == 1 else found, indent=2, default=str))
    elif fmt == "github":
        text = format_github({spec.path: diags for spec, _, diags, _ in audits})
        if text:
            click.echo(text)
    elif fmt == "junit":
        click.echo(format_junit({spec.path: diags for spec, _, diags, _ in audits}, title="segrules audit"))
    else:
        for spec, overlap, diags, labels in audits:
            print_audit(console, spec, overlap, diags, labels)
    return 1 if any(is_finding(d) for _, _, diags, _ in audits for d in diags) else 0


def print_audit(console, spec, overlap: Overlap, diags, flagged: dict[str, list[str]]) -> None:
    tax = memberships(spec)
    table = Table(title=f"audit of {spec.name}", caption=f"universe: {overlap.universe:,}")
    for col in ("segment", "members", "share", "taxonomies", "findings"):
        table.add_column(col, justify="right" if col in ("members", "share") else "left")
    for s, n in overlap.sizes.items():
        share = f"{n / overlap.universe:.1%}" if overlap.universe else "—"
        table.add_row(s, f"{n:,}", share, ", ".join(tax[s]), ", ".join(flagged.get(s, [])))
    console.print(table)
    for d in diags:
        click.echo(render(d) + "\n", err=True)
    found = sum(map(is_finding, diags))
    intended = len(diags) - found
    console.print(f"{found} finding{'s' * (found != 1)}"
                  + (f"; {intended} intended overlap{'s' * (intended != 1)}" if intended else ""))



@click.command("audit")
@mece_options("segments")
@click.option("--jaccard", default=0.9, show_default=True, type=click.FloatRange(0, 1),
              help="Pairs at least this similar (Jaccard) are near-duplicates.")
@click.option("--min-size", default=10, show_default=True, type=click.IntRange(0),
              help="Segments with fewer members (but not empty) are tiny.")
def audit_command(specs, select, project, target, db, as_of, params, fmt, jaccard, min_size):
    """Audit segment hygiene on data in one query: empty and tiny segments, near-duplicate
    pairs, segments contained in another, and each segment's taxonomies; intended overlaps
    (overlaps:) are shown as such. SPECS: files, folders or globs; none: the project's specs.
    Exit 1 when there is a finding."""
    from segrules.plugin import parse_params
    try:
        parsed = parse_params(params)
    except SegrulesError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(run_audit(specs, select, project, target, db, as_of, parsed, fmt, jaccard, min_size,
                       make_console()))
