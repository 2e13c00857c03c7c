"""The ``rfm:`` section's own checks (codes RFM1xx), positioned in the spec: run by
``segrules validate`` and again before the namespace is built, so a broken section never runs."""

from __future__ import annotations

from segrules.plugin import Diagnostic, Severity, ast, did_you_mean, parse_expressions

from .labels import DEFAULT_BINS, LabelMap, default_label_map, mece_diagnostics, spec_label_map

SECTION = "rfm"


def _diag(code, message, span, hint=None, severity=Severity.ERROR):
    return Diagnostic(code, message, span, severity=severity, hint=hint, source="rfm")


def _source_checks(document, config) -> list[Diagnostic]:
    source = document.model.sources.get(config.source)
    if source is not None and not source.time:
        return [_diag("RFM101", f"rfm: source {config.source!r} has no time column, so recency cannot be "
                      "computed", document.index.value_span((SECTION, "source")),
                      hint=f"add time: to sources.{config.source}")]
    return []


def _threshold_checks(document, config) -> list[Diagnostic]:
    index, diags = document.index, []
    if config.method == "quantiles":
        if config.thresholds is not None:
            diags.append(_diag("RFM103", "rfm: thresholds are ignored with method: quantiles",
                               index.key_span((SECTION, "thresholds")), hint="set method: thresholds",
                               severity=Severity.WARNING))
        return diags
    if config.thresholds is None:
        return [_diag("RFM102", "rfm: method: thresholds needs thresholds: {recency_days: [...], "
                      "frequency: [...], monetary: [...]}", index.value_span((SECTION, "method")))]
    for name in ("recency_days", "frequency", "monetary"):
        cuts = getattr(config.thresholds, name)
        path = (SECTION, "thresholds", name)
        if len(cuts) != config.bins - 1:
            diags.append(_diag("RFM102", f"rfm: thresholds.{name} needs {config.bins - 1} cut points for "
                               f"bins: {config.bins}, got {len(cuts)}", index.value_span(path)))
        elif any(b <= a for a, b in zip(cuts, cuts[1:])):
            diags.append(_diag("RFM102", f"rfm: thresholds.{name} must be strictly ascending", index.value_span(path)))
    return diags


def label_map_of(document, config) -> tuple[LabelMap | None, list[Diagnostic]]:
    """The section's label map (custom or the default), with its problems."""
    index = document.index
    if config.labels is None:
        if config.bins != DEFAULT_BINS:
            return None, [_diag("RFM104", f"rfm: the default label map is for bins: {DEFAULT_BINS}, not "
                                f"{config.bins}", index.value_span((SECTION, "bins")),
                                hint="give labels: a rule over r, f, m per label, or use bins: 5")]
        return default_label_map(), []
    if not config.labels:
        return None, [_diag("RFM114", "rfm: labels: is empty", index.value_span((SECTION, "labels")))]
    label_map, diags = spec_label_map(document)
    if config.no_purchase_label in config.labels:
        diags.append(_diag("RFM115", f"rfm: {config.no_purchase_label!r} is the label of entities without "
                           "purchases (no_purchase_label); it cannot be a rule's label",
                           index.key_span((SECTION, "labels", config.no_purchase_label))))
    if label_map is not None:
        diags += mece_diagnostics(label_map, config.bins,
                                  lambda label: index.value_span((SECTION, "labels", label)),
                                  index.key_span((SECTION, "labels")))
    return (label_map if not any(d.is_error for d in diags) else None), diags


def label_values(config) -> tuple[str, ...]:
    """Every value ``rfm.label`` can take: the map's labels, then ``no_purchase_label``."""
    labels = tuple(config.labels) if config.labels is not None else default_label_map().labels
    return labels + (config.no_purchase_label,)


def _is_label(node) -> bool:
    return isinstance(node, ast.Dotted) and (node.namespace, node.name) == (SECTION, "label")


def _label_literals(node):
    """The string literals ``rfm.label`` is compared with (``==``, ``!=``, ``in``) in ``node``."""
    for sub in node.walk():
        if isinstance(sub, ast.Compare) and sub.op in ("==", "!="):
            for this, other in ((sub.left, sub.right), (sub.right, sub.left)):
                if _is_label(this) and isinstance(other, ast.String):
                    yield other
        elif isinstance(sub, ast.InList) and _is_label(sub.operand):
            yield from (item for item in sub.items if isinstance(item, ast.String))


def _rule_checks(document, config, rules) -> list[Diagnostic]:
    """``rfm.label == 'Chmpions'`` can never hold: a misspelt label is an error, not an empty segment."""
    values = label_values(config)
    if rules is None:
        features, segments, _ = parse_expressions(document)  # syntax errors are the core's to report
        rules = [*features.values(), *segments.values()]
    return [_diag("RFM116", f"rfm.label is never {literal.value!r}: no such label", literal.span,
                  hint=did_you_mean(literal.value, values) or "labels: " + ", ".join(values))
            for node in rules for literal in _label_literals(node) if literal.value not in values]


def section_diagnostics(document, checked=None) -> list[Diagnostic]:
    """Every problem of the ``rfm:`` section (none when the spec has no such section). ``checked``
    (a CheckedSpec) saves parsing the rules again."""
    config = getattr(document.model, SECTION, None)
    if config is None:
        return []
    _, label_diags = label_map_of(document, config)
    rules = None if checked is None else [*checked.features.values(), *checked.segments.values()]
    return (_source_checks(document, config) + _threshold_checks(document, config) + label_diags
            + _rule_checks(document, config, rules))
