"""``segrules validate`` for the ``models:`` section: leakage, the shape of each model, and its
artifact. Each check is a function returning diagnostics (codes PRED1xx for the spec, PRED2xx for
the artifacts; docs/plugins/predict.md lists them).

No leakage by construction: the training frames are computed with the engine as of each training
time T, where every source row after T is already gone. What the engine cannot cut at T is a value
without history: an entity column (the table holds today's value, which may postdate T) unless the
model declares it ``static:``, and a source without a time column (all its rows, whenever they
happened). A feature that reads one, directly or through the features and segments it uses, is
PRED101. The label reads only the window after T: every aggregate of it ``within next D`` and
nothing of the entity as of T (PRED102).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Iterable

import segrules
from segrules.plugin import Diagnostic, EntityColumn, EntityValue, FeatureRef, SourceColumn, ast, unparse

from .config import MODELS, Algorithm, Kind, Model, feature_key, label_key, population_key

SOURCE = "predict"


def _error(code: str, message: str, span, hint: str | None = None) -> Diagnostic:
    return Diagnostic(code, message, span, hint=hint, source=SOURCE)


def feature_kind(t) -> str | None:
    """``numeric`` or ``categorical`` for a feature of type ``t`` (a segrules ``DataType``); None when unusable."""
    if t.is_numeric() or t.is_boolean():
        return "numeric"
    if t.is_string():
        return "categorical"
    return None


def label_horizon(node) -> timedelta:
    """The longest ``within next D`` of a label: how far after T its window reaches."""
    spans = [n.window.duration.seconds for n in node.walk()
             if isinstance(n, ast.Aggregate) and isinstance(n.window, ast.Within) and n.window.ahead
             and isinstance(n.window.duration, ast.Duration)]
    return timedelta(seconds=max(spans, default=0))


def _why_unsafe(checked, node, static: set[str], trail: tuple[str, ...] = ()) -> str | None:
    """Why ``node`` could read values after T, or None: the first unsafe read, with the features and
    segments it goes through."""
    m = checked.model
    safe = {m.entity.key, *([m.entity.time] if m.entity.time else []), *static}
    via = f" (through {' -> '.join(trail)})" if trail else ""
    for sub in node.walk():
        binding = checked.bindings.get(id(sub))
        column = binding.name if isinstance(binding, EntityColumn) else \
            binding.name if isinstance(binding, EntityValue) and not binding.feature else None
        if column is not None and column not in safe:
            return (f"it reads {m.entity.table}.{column}{via}, an entity column with no history: its value "
                    f"today may postdate T")
        if isinstance(sub, ast.Aggregate) and not m.sources[sub.source].time:
            return f"it aggregates {sub.source}{via}, a source without a time column: rows after T count too"
        ref = None
        if isinstance(binding, FeatureRef) or (isinstance(binding, EntityValue) and binding.feature):
            ref = ("feature", binding.name, checked.features.get(binding.name))
        elif isinstance(sub, ast.SegmentRef):
            ref = ("segment", sub.name, checked.segments.get(sub.name))
        if ref is not None and ref[2] is not None and f"{ref[0]} {ref[1]}" not in trail:
            found = _why_unsafe(checked, ref[2], static, (*trail, f"{ref[0]} {ref[1]}"))
            if found is not None:
                return found
    return None


def leakage(document, checked) -> Iterable[Diagnostic]:
    """PRED101: a feature that could read after T; PRED102: a label that reads at or before T."""
    if checked is None:
        return
    for name, model in (getattr(document.model, MODELS, None) or {}).items():
        static = set(model.static)
        for column, text, path in model.feature_items():
            found = checked.source_expressions.get((MODELS, feature_key(name, column)))
            if found is None:
                continue
            why = _why_unsafe(checked, found[1], static)
            if why is not None:
                yield _error("PRED101", f"models.{name}: feature {text.strip()!r} could read after the training "
                             f"time T: {why}", found[1].span or document.index.value_span((MODELS, name, *path)),
                             hint="compute it from a source with a time column (max(orders.ordered_at)), or list "
                                  "the column under static: if it never changes")
        found = checked.source_expressions.get((MODELS, population_key(name)))
        why = None if found is None else _why_unsafe(checked, found[1], static)
        if why is not None:
            yield _error("PRED101", f"models.{name}: the population could read after the training time T: {why}",
                         found[1].span, hint="compute it from a source with a time column, or list the column "
                                             "under static: if it never changes")
        found = checked.source_expressions.get((MODELS, label_key(name)))
        if found is None:
            continue
        for sub in found[1].walk():
            binding = checked.bindings.get(id(sub))
            if isinstance(sub, ast.Aggregate) and not (isinstance(sub.window, ast.Within) and sub.window.ahead):
                yield _error("PRED102", f"models.{name}: the label reads only the window after T, but "
                             f"{unparse(sub)!r} reads rows at or before T", sub.span,
                             hint=f"add 'within next D': {sub.func}({sub.source} ... within next 30d)")
            elif (binding is not None and not isinstance(binding, SourceColumn)) or isinstance(sub, ast.SegmentRef):
                # anything but a source row's own column: an entity column or value, a feature, a
                # plugin value (rfm.r, cohort('w')), a segment, all as of T
                yield _error("PRED102", f"models.{name}: the label reads only the window after T, but "
                             f"{unparse(sub)!r} is a value as of T", sub.span,
                             hint="put what describes the entity at T in features:, and filter who is scored "
                                  "with a segment")


def shapes(document, checked) -> Iterable[Diagnostic]:
    """PRED103..PRED107: label and algorithm fit the kind, usable feature types, training times."""
    index = document.index
    m = document.model
    for name, model in (getattr(m, MODELS, None) or {}).items():
        at = (MODELS, name)
        if model.kind is Kind.clusters:
            if model.label is not None:
                yield _error("PRED103", f"models.{name}: clusters have no label", index.key_span(at + ("label",)))
            if model.algorithm is not Algorithm.kmeans:
                yield _error("PRED104", f"models.{name}: clusters are computed with kmeans, not "
                             f"{model.algorithm.value}", index.value_span(at + ("algorithm",)))
        else:
            if model.label is None:
                yield _error("PRED103", f"models.{name}: a {model.kind.value} needs a label: what it predicts, "
                             "over the window after T", index.key_span(at),
                             hint="label: count(orders within next 30d) == 0")
            if model.algorithm is Algorithm.kmeans:
                yield _error("PRED104", f"models.{name}: kmeans makes clusters: use kind: clusters, or "
                             "logistic | random_forest | gradient_boosting", index.value_span(at + ("algorithm",)))
        for column in model.static:
            if column not in getattr(checked, "schemas", {}).get(m.entity.table, {column: None}):
                i = model.static.index(column)
                yield _error("PRED107", f"models.{name}: static: {column!r} is not a column of {m.entity.table}",
                             index.value_span(at + ("static", i)))
        if checked is not None:
            for column, text, path in model.feature_items():
                found = checked.source_expressions.get((MODELS, feature_key(name, column)))
                t = None if found is None else checked.types.get(id(found[1]))
                if t is not None and feature_kind(t) is None:
                    yield _error("PRED105", f"models.{name}: feature {text.strip()!r} is {t}: a model reads "
                                 "numbers, true/false and strings", index.value_span(at + path),
                                 hint="for a time, days_since(...); for a duration, its days")
        yield from _times(document, name, model, checked)


def _times(document, name: str, model: Model, checked) -> Iterable[Diagnostic]:
    index, at = document.index, (MODELS, name, "train")
    times = model.train.times
    if len(set(times)) < len(times):
        yield _error("PRED106", f"models.{name}: a training time is listed twice", index.value_span(at + ("as_of",)))
    test = model.train.test_time
    if test is None or checked is None:
        return
    found = checked.source_expressions.get((MODELS, label_key(name)))
    horizon = label_horizon(found[1]) if found is not None else timedelta(0)
    late = [t for t in times if t + horizon > test]
    if late:
        yield _error("PRED106", f"models.{name}: the test time {test:%Y-%m-%d} must come after every training "
                     f"time's label window ({late[-1]:%Y-%m-%d} + {horizon.days}d ends later): evaluation is on "
                     "a later time, never on the window a model was trained on",
                     index.value_span(at + ("test",)))


def artifacts(document, checked) -> Iterable[Diagnostic]:
    """PRED201: a model without an artifact; PRED202: trained on a different spec; PRED203: unreadable."""
    from . import artifacts as store

    m = document.model
    for name in getattr(m, MODELS, None) or {}:
        span = document.index.key_span((MODELS, name))
        path = store.latest_path(document.path, m.name, name)
        command = f"segrules train {document.path} --model {name} --db URL"
        if path is None:
            yield _error("PRED201", f"models.{name}: no trained model in "
                         f"{store.shown(store.model_folder(document.path, m.name, name))}",
                         span, hint=f"train it: {command}")
            continue
        try:
            artifact = store.load(path)
        except (OSError, ValueError, segrules.PluginError) as exc:  # a corrupt file: say which and why
            yield _error("PRED203", f"models.{name}: cannot read {store.shown(path)}: {exc}", span, hint=f"retrain: {command}")
            continue
        if checked is None:
            continue
        expected = store.spec_hash(checked, name)
        if artifact.get("spec_hash") != expected:
            yield _error("PRED202", f"models.{name}: {path.name} was trained on a different spec (spec hash "
                         f"{artifact.get('spec_hash')}, now {expected}): the model, its features or what they "
                         "read changed since", span, hint=f"retrain: {command}")


def all_diagnostics(ctx) -> list[Diagnostic]:
    return [*leakage(ctx.document, ctx.checked), *shapes(ctx.document, ctx.checked),
            *artifacts(ctx.document, ctx.checked)]
