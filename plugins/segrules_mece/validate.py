"""The ``validate`` check: structure of ``taxonomies:``, then the static proof of each taxonomy's
declared properties, as diagnostics on the YAML lines of the segments involved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segrules.plugin import Diagnostic, Severity

from .section import SOURCE, check_columns, check_structure, taxonomies

if TYPE_CHECKING:  # z3 is imported when a taxonomy is proved, not when segrules starts
    from .prover import Answer, Proof


def what_to_prove(tax) -> tuple[bool, bool]:
    """(pairs, gap): the properties declared and not already guaranteed by ``resolve``/``else``."""
    resolved = tax.resolve == "priority"
    return tax.exclusive and not resolved, tax.exhaustive and tax.else_ is None


def proofs(checked, doc) -> dict[str, Proof]:
    """The static answers for every taxonomy with a declared property to prove."""
    from .prover import Prover, prove
    prover, out = None, {}
    for name, tax in taxonomies(doc).items():
        pairs, gap = what_to_prove(tax)
        if pairs or gap:
            prover = prover or Prover(checked)
            out[name] = prove(checked, name, tax.segments, pairs=pairs, gap=gap, prover=prover)
    return out


def segment_span(doc, segment: str):
    return doc.index.value_span(("segments", segment, "where"))


def check_taxonomies(ctx) -> list[Diagnostic]:
    """Taxonomies name segments of the spec, and are exclusive/exhaustive when they say so."""
    doc = ctx.document
    diags = check_structure(doc)
    if ctx.checked is None or not taxonomies(doc):
        return diags
    diags += check_columns(doc, ctx.checked)
    if any(d.is_error for d in diags):
        return diags
    for name, proof in proofs(ctx.checked, doc).items():
        diags += proof_diagnostics(doc, proof)
    return diags


def proof_diagnostics(doc, proof: Proof) -> list[Diagnostic]:
    name, diags = proof.taxonomy, []
    for answer in proof.pairs:
        a, b = answer.segments
        related = (segment_span(doc, b),)
        declared = doc.model.intended(a, b)
        if answer.kind in ("overlap", "unknown") and declared is not None:  # by design (overlaps:)
            diags.append(Diagnostic("MECE134", f"taxonomy {name!r}: intended overlap: {a} & {b} "
                                    f"({declared.reason})", segment_span(doc, a), Severity.INFO, source=SOURCE,
                                    related=related))
        elif answer.kind == "overlap":
            diags.append(Diagnostic(
                "MECE110", f"taxonomy {name!r} is not exclusive: {answer.witness.describe()} is in both "
                f"{a} and {b} (as of now = {answer.witness.now:%Y-%m-%d %H:%M:%S})",
                segment_span(doc, a), hint=f"make the rules of {a} and {b} exclude each other, or add "
                "resolve: priority", source=SOURCE, check=True, related=related))
        elif answer.kind == "unknown":
            diags.append(_unknown(doc, name, f"whether {a} and {b} can overlap", answer, related))
    gap = proof.gap
    if gap is not None and gap.kind != "exhaustive":
        span = doc.index.value_span(("taxonomies", name, "segments"))
        related = tuple(segment_span(doc, s) for s in gap.segments)
        if gap.kind == "gap":
            diags.append(Diagnostic(
                "MECE111", f"taxonomy {name!r} is not exhaustive: {gap.witness.describe()} is in none of "
                f"its segments (as of now = {gap.witness.now:%Y-%m-%d %H:%M:%S})", span,
                hint="cover this case with a segment, or add resolve: priority with an else segment",
                source=SOURCE, check=True, related=related))
        else:
            diags.append(_unknown(doc, name, "whether every entity is in one of its segments", gap, related))
    if not any(d.code in ("MECE110", "MECE111", "MECE112") for d in diags):
        proved = []
        intended = sum(d.code == "MECE134" for d in diags)
        if proof.pairs:
            n = len(proof.pairs) - intended
            proved.append(f"exclusive ({n} pair{'s' * (n != 1)} proved disjoint"
                          + (f", {intended} intended overlap{'s' * (intended != 1)})" if intended else ")"))
        if gap is not None:
            proved.append("exhaustive")
        diags.append(Diagnostic("MECE113", f"taxonomy {name!r}: proved {' and '.join(proved)} from the rules",
                                doc.index.key_span(("taxonomies", name)), Severity.INFO, source=SOURCE))
    return diags


def _unknown(doc, name: str, question: str, answer: Answer, related) -> Diagnostic:
    span = getattr(answer.node, "span", None) or doc.index.key_span(("taxonomies", name))
    return Diagnostic("MECE112", f"taxonomy {name!r}: cannot decide {question}: {answer.reason}", span,
                      Severity.WARNING, hint="check it on data with segrules mece SPEC --db URL",
                      source=SOURCE, check=True, related=related)
