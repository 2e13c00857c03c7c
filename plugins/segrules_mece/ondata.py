"""``segrules mece SPEC --db URL``: the taxonomies measured on data, in one query.

Exit 0 when every declared property holds, 1 when one is violated (entities in several segments
of an ``exclusive`` taxonomy, or in none of an ``exhaustive`` one), 2 for bad input."""

from __future__ import annotations

import json
from contextlib import nullcontext
import sys
from itertools import combinations

import click
from rich.table import Table

import segrules
from segrules.plugin import (EXIT_BAD_INPUT, FORMATS, Diagnostic, SegrulesError, Severity, SpecError, command_specs,
                             db_option, exit_code, format_github, format_junit, make_console, render, spec_options)

from .intended import intended_overlap
from .measure import Overlap, measure
from .section import SOURCE, check_structure, taxonomies


def has_taxonomies(spec) -> str | None:
    """Why ``segrules mece`` skips ``spec`` (no taxonomies: section), or None."""
    return None if taxonomies(spec.document) else "no taxonomies: section"


def selected(spec, names: tuple[str, ...], segments: list[str] | None = None) -> dict:
    """The spec's taxonomies (or those named, or those with a ``segments`` selected), after the
    structural checks."""
    problems = [d for d in check_structure(spec.document) if d.is_error]
    if problems:
        raise SpecError(diagnostics=problems)
    found = taxonomies(spec.document)
    if not found:
        raise SpecError(f"{spec.path} has no taxonomies: section", code="SR100",
                        hint="declare one: taxonomies: {lifecycle: {segments: [a, b], exclusive: true}}")
    unknown = [n for n in names if n not in found]
    if unknown:
        raise SpecError(f"--taxonomy {unknown[0]}: no such taxonomy (the spec has: {', '.join(found)})",
                        code="SR100")
    picked = {n: found[n] for n in (names or found)}
    if segments is not None:
        picked = {n: t for n, t in picked.items() if set(t.segments) & set(segments)}
        if not picked:
            raise SpecError(f"{spec.path}: no taxonomy has a selected segment", code="SR166")
    return picked


def measure_taxonomies(spec, con, chosen: dict, *, as_of=None, params=None, samples: int = 5) -> Overlap:
    """Evaluate the segments' own rules (not the priority-resolved output) and aggregate them."""
    segments = list(dict.fromkeys(s for tax in chosen.values() for s in tax.segments))
    pairs = list(dict.fromkeys(p for tax in chosen.values() for p in combinations(tax.segments, 2)))
    wide = spec.evaluate(con, as_of=as_of, params=params, segments=segments, features=False, derived=False)
    return measure(wide, spec.key, segments, pairs, {n: t.segments for n, t in chosen.items()}, samples)


def violations(spec, name: str, tax, overlap: Overlap) -> list[Diagnostic]:
    doc, group = spec.document, overlap.groups[name]
    where = doc.index.value_span(("taxonomies", name, "segments"))
    diags = []
    resolved = tax.resolve == "priority"
    pairs = []
    for a, b in combinations(tax.segments, 2):
        declared = doc.model.intended(a, b)
        if declared is not None:  # shown as intended, or MECE135 when a declared A ⊆ B fails
            diags += intended_overlap(spec, declared, overlap, {}, (a, b))
        elif overlap.both(a, b):
            pairs.append((a, b, overlap.both(a, b)))
    if pairs and (tax.exclusive or resolved):
        detail = ", ".join(f"{a} & {b}: {n:,}" for a, b, n in pairs)
        related = tuple(doc.index.value_span(("segments", s, "where")) for s in
                        dict.fromkeys(x for a, b, _ in pairs for x in (a, b)))
        if resolved:
            diags.append(Diagnostic("MECE122", f"taxonomy {name!r}: {group.in_several:,} entities match several "
                                    f"segments and are kept in the first listed only ({detail})", where,
                                    Severity.INFO, source=SOURCE))
        else:
            diags.append(Diagnostic("MECE120", f"taxonomy {name!r} is not exclusive on data: {group.in_several:,} "
                                    f"entities are in several segments ({detail}); e.g. {_keys(group.several_samples)}",
                                    where, source=SOURCE, check=True, related=related))
    if group.in_none and tax.exhaustive and tax.else_ is None:
        diags.append(Diagnostic("MECE121", f"taxonomy {name!r} is not exhaustive on data: {group.in_none:,} of "
                                f"{overlap.universe:,} entities are in none of its segments; e.g. "
                                f"{_keys(group.none_samples)}", where, source=SOURCE, check=True))
    return diags


def _keys(keys) -> str:
    return "keys " + ", ".join(map(str, keys)) if keys else "no sample"


def report_dict(spec, chosen, overlap: Overlap, diags: dict[str, list[Diagnostic]]) -> dict:
    out = []
    for name, tax in chosen.items():
        group = overlap.groups[name]
        out.append({
            "taxonomy": name, "exclusive": tax.exclusive, "exhaustive": tax.exhaustive, "resolve": tax.resolve,
            "universe": overlap.universe,
            "sizes": {s: overlap.sizes[s] for s in tax.segments},
            "pairs": [{"a": a, "b": b, "both": overlap.both(a, b), "jaccard": round(overlap.jaccard(a, b), 6),
                       "sample_key": overlap.pairs.get((a, b), (0, None))[1]}
                      for a, b in combinations(tax.segments, 2)],
            "in_several": group.in_several, "in_several_samples": group.several_samples,
            "in_none": group.in_none, "in_none_samples": group.none_samples,
            "ok": not any(d.check and d.is_error for d in diags[name]),
            "diagnostics": [d.to_dict() for d in diags[name]],
        })
    return {"spec": spec.path, "ok": all(t["ok"] for t in out), "taxonomies": out}


def print_text(console, spec, chosen, overlap: Overlap) -> None:
    """Per taxonomy: sizes with the overlap matrix (columns numbered like the rows), then the
    overlapping pairs with Jaccard and a sample key, then who is in several / in none."""
    for name, tax in chosen.items():
        group = overlap.groups[name]
        declared = [p for p, on in (("exclusive", tax.exclusive), ("exhaustive", tax.exhaustive),
                                    ("resolve: priority", tax.resolve == "priority")) if on]
        table = Table(title=f"taxonomy {name}" + (f" ({', '.join(declared)})" if declared else ""),
                      caption="columns 1, 2, …: members also in that segment")
        for col in ("#", "segment", "members", "share", *map(str, range(1, len(tax.segments) + 1))):
            table.add_column(col, justify="left" if col == "segment" else "right")
        for i, s in enumerate(tax.segments, start=1):
            size = overlap.sizes[s]
            cells = ["·" if o == s else f"{overlap.both(s, o):,}" for o in tax.segments]
            share = f"{size / overlap.universe:.1%}" if overlap.universe else "—"
            table.add_row(str(i), s, f"{size:,}", share, *cells)
        console.print(table)
        pairs = [(a, b) for a, b in combinations(tax.segments, 2) if overlap.both(a, b)]
        if pairs:
            shown = Table(title="overlapping pairs")
            for col in ("segments", "in both", "Jaccard", "e.g. key"):
                shown.add_column(col, justify="left" if col == "segments" else "right")
            for a, b in pairs:
                sample = overlap.pairs[(a, b)][1] if (a, b) in overlap.pairs else overlap.pairs[(b, a)][1]
                shown.add_row(f"{a} & {b}", f"{overlap.both(a, b):,}", f"{overlap.jaccard(a, b):.3f}", str(sample))
            console.print(shown)
        console.print(f"universe: {overlap.universe:,}; in several segments: {group.in_several:,}"
                      + (f" (e.g. {_keys(group.several_samples)})" if group.in_several else "")
                      + f"; in none: {group.in_none:,}"
                      + (f" (e.g. {_keys(group.none_samples)})" if group.in_none else ""))


def emit(fmt: str, console, reports, title: str) -> None:
    """Write the reports (spec, chosen taxonomies, overlap, diagnostics per taxonomy) in ``fmt``;
    diagnostics keyed ``spec.yaml taxonomy NAME``. JSON: one object for one spec, else a list."""
    keyed = {f"{spec.path} {title} {name}": ds for spec, _, _, diags in reports for name, ds in diags.items()}
    if fmt == "json":
        found = [report_dict(*report) for report in reports]
        click.echo(json.dumps(found[0] if len(found) == 1 else found, indent=2, default=str))
    elif fmt == "github":
        text = format_github(keyed)
        if text:
            click.echo(text)
    elif fmt == "junit":
        click.echo(format_junit(keyed, title=f"segrules {title}"))
    else:
        for spec, chosen, overlap, diags in reports:
            if len(reports) > 1:
                console.print(f"[bold]{spec.path}[/bold]")
            print_text(console, spec, chosen, overlap)
            for ds in diags.values():
                for d in ds:
                    click.echo(render(d) + "\n", err=True)


def run_mece(specs, select, project, target, db, names, as_of, params, fmt, samples, console) -> int:
    reports = []
    try:
        for work in command_specs("mece", specs, select, project, target, db, as_of, needs=has_taxonomies):
            spec = work.spec
            chosen = selected(spec, names, work.segments)
            con = segrules.connect(work.db, read_only=True)
            with make_console(stderr=True).status("Measuring taxonomies…") if fmt == "text" else nullcontext():
                overlap = measure_taxonomies(spec, con, chosen, as_of=work.as_of, params=params, samples=samples)
            diags = {name: violations(spec, name, tax, overlap) for name, tax in chosen.items()}
            reports.append((spec, chosen, overlap, diags))
    except SegrulesError as exc:
        click.echo(exc.render(), err=True)
        return EXIT_BAD_INPUT
    emit(fmt, console, reports, "mece")
    return max((exit_code(ds) for *_, diags in reports for ds in diags.values()), default=0)


def mece_options(selects: str):
    """The options mece and audit share; ``selects``: what --select does (``spec_options``)."""
    return lambda fn: _mece_options(fn, selects)


def _mece_options(fn, selects: str):
    fn = click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
                      help="text (tables), json, github (Actions annotations), junit (XML).")(fn)
    fn = click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
                      help="Override a spec parameter; repeatable.")(fn)
    fn = click.option("--as-of", "as_of", metavar="TIME", help="Evaluate as of this date/time (default: the "
                      "target's as_of:).")(fn)
    fn = db_option(fn)
    return spec_options(selects=selects)(fn)


@click.command("mece")
@mece_options("Only the taxonomies with these segments")
@click.option("--taxonomy", "names", multiple=True, metavar="NAME", help="Only this taxonomy (repeatable).")
@click.option("--samples", default=5, show_default=True, help="Sample keys shown per violation.")
def mece_command(specs, select, project, target, db, as_of, params, fmt, names, samples):
    """Measure the spec's taxonomies on data in one query: sizes, the pairwise overlap matrix
    (counts and Jaccard), entities in several segments and in none, with sample keys; intended
    overlaps (overlaps:) are shown as such. SPECS: files, folders or globs; none: the project's
    specs that have taxonomies. Exit 1 when a declared property (exclusive, exhaustive) is
    violated."""
    from segrules.plugin import parse_params
    try:
        parsed = parse_params(params)
    except SegrulesError as exc:
        click.echo(exc.render(), err=True)
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(run_mece(specs, select, project, target, db, tuple(names), as_of, parsed, fmt, samples,
                      make_console()))
