"""``segrules train``: fit a model on point-in-time frames and save its artifact.

1. The spec is validated first: a feature that could read after a training time (PRED101), a label
   that reads at or before it (PRED102) and every other spec error stop training.
2. One frame per training time T (``train.as_of``), computed by the engine as of T
   (:mod:`.frames`): the features over the rows at or before T, the label over ``T < t <= T + D``.
   Every label window must have ended by now (PRED108), so no label is cut short.
3. The frames are stacked, sampled (``train.sample``), and the pipeline is fitted (``pipeline.py``).
4. The model is evaluated on the frame of the later ``test`` time (:mod:`.metrics`); a clusters
   model without ``k`` gets the k of the best silhouette on a sample.
5. The fitted pipeline is exported (``portable.py``), its SQL size checked (``scoring.size``), its
   in-database scores compared with scikit-learn's on a sample (``parity.py``), and the artifact
   and its model card are saved (:mod:`.artifacts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import segrules
from segrules.plugin import Diagnostic, Severity

from . import artifacts, metrics
from .checks import label_horizon
from .config import MODELS, Kind, Model, label_key
from .frames import LABEL, feature_kinds, frame

PARITY_ROWS = 2_000


@dataclass
class Trained:
    path: Path  # the artifact
    card: Path  # its model card
    artifact: dict[str, Any]
    pipeline: Any = None  # the fitted scikit-learn pipeline (in memory only)


def _spec_error(spec, code: str, message: str, path: tuple, hint: str | None = None) -> segrules.SpecError:
    span = spec.document.index.value_span(path)
    return segrules.SpecError(diagnostics=[Diagnostic(code, message, span, hint=hint, source="predict")])


def _validated(spec, con, name: str) -> None:
    """Validate the spec; missing or stale artifacts (PRED2xx) are what training fixes."""
    diags = [d for d in spec.validate(con) if d.severity is Severity.ERROR and not d.code.startswith("PRED2")]
    if diags:
        raise segrules.SpecError(diagnostics=diags)


def _frames(ctx, name: str, times: list[datetime], label: bool, log: Callable[[str], None]):
    import pandas as pd

    parts = []
    for t in times:
        table = frame(ctx, name, now=t, label=label)
        df = table.order_by(ctx.key).to_pandas()  # a fixed row order: samples and fits repeat exactly
        if label:
            df = df[df[LABEL].notna()]
        log(f"  frame as of {t:%Y-%m-%d}: {len(df)} rows")
        parts.append(df.assign(__time=t))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def _by_size(pipeline, X):
    """The fitted k-means with its clusters numbered by size on the training rows, largest first, so
    that the numbers rules use (``cluster('m') == 0``) do not depend on k-means' random start."""
    import numpy as np

    kmeans = pipeline.named_steps["model"]
    counts = np.bincount(pipeline.predict(X), minlength=len(kmeans.cluster_centers_))
    order = np.argsort(-counts, kind="stable")
    kmeans.cluster_centers_ = kmeans.cluster_centers_[order]
    kmeans.labels_ = np.argsort(order)[kmeans.labels_]
    return pipeline


def train(spec, con, name: str, *, as_of=None, log: Callable[[str], None] = lambda line: None) -> Trained:
    """Train model ``name`` of ``spec`` on ``con``'s tables; ``as_of``: now (default: the wall clock),
    by which every label window must have ended."""
    import numpy as np

    from .parity import check_parity
    from .pipeline import build_pipeline
    from .portable import export
    from .scoring import ModelTooLarge, check, size

    config = spec.section(MODELS) or {}
    if name not in config:
        raise segrules.SpecError(f"the spec has no model {name!r} under models:", code="SR320",
                                 hint="models: " + ", ".join(config) if config else "add a models: section")
    model: Model = config[name]
    _validated(spec, con, name)
    ctx = spec.section_context(con, MODELS, as_of=as_of)
    checked = ctx.checked
    supervised = model.kind is not Kind.clusters
    horizon = label_horizon(checked.source_expressions[(MODELS, label_key(name))][1]) if supervised else None
    times, test = model.train.times, model.train.test_time
    now = ctx.now
    if horizon is not None:
        late = [t for t in [*times, *([test] if test else [])] if t + horizon > now]
        if late:
            raise _spec_error(spec, "PRED108", f"models.{name}: the label window after {late[-1]:%Y-%m-%d} ends "
                              f"{late[-1] + horizon:%Y-%m-%d}, after now ({now:%Y-%m-%d}): its labels are not "
                              "known yet", (MODELS, name, "train"), hint="train on earlier times, or give --as-of")
    kinds = feature_kinds(checked, name, model)
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    categorical = [c for c, k in kinds.items() if k == "categorical"]
    columns = numeric + categorical
    seed = model.train.seed

    log(f"training {name} ({model.kind.value}, {model.algorithm.value}) of {spec.name}")
    frames = _frames(ctx, name, times, supervised, log)
    if model.train.sample is not None and len(frames) > model.train.sample:
        frames = frames.sample(model.train.sample, random_state=seed).reset_index(drop=True)
    if len(frames) < 10:
        raise _spec_error(spec, "PRED109", f"models.{name}: {len(frames)} rows in the training frames: too few to "
                          "train on", (MODELS, name, "train", "as_of"))
    testing = _frames(ctx, name, [test], supervised, log) if test is not None else None
    X = frames[columns]
    params = dict(model.params)
    out_metrics: dict[str, Any] = {}
    if model.kind is Kind.clusters:
        k = model.k
        if k is None:
            k, scores = metrics.choose_k(lambda n: build_pipeline(numeric, categorical, "kmeans",
                                                                  {**params, "n_clusters": n}, seed, kind="clusters"),
                                         X, model.max_k, seed)
            out_metrics["silhouette_by_k"] = [{"k": n, "silhouette": v} for n, v in scores.items()]
            log(f"  k = {k} (best silhouette of {', '.join(f'{n}: {s}' for n, s in scores.items())})")
        params["n_clusters"] = k
        pipeline = _by_size(build_pipeline(numeric, categorical, "kmeans", params, seed, kind="clusters").fit(X), X)
        evaluated = testing if testing is not None and len(testing) else frames
        out_metrics.update(metrics.clusters(pipeline, evaluated[columns], kinds, seed))
        out_metrics["k"] = k
    else:
        y = frames[LABEL].astype(float if model.kind is Kind.regressor else bool).astype(float)
        if model.kind is Kind.classifier:
            y = y.astype(int)
            if y.nunique() < 2:
                raise _spec_error(spec, "PRED109", f"models.{name}: the label is {bool(y.iloc[0])} for every row of "
                                  "the training frames: nothing to learn", (MODELS, name, "label"))
        pipeline = build_pipeline(numeric, categorical, model.algorithm.value, params, seed,
                                  kind=model.kind.value).fit(X, y)
        evaluated = testing if testing is not None and len(testing) else None
        if evaluated is None:
            log("  no test time: the metrics below are on the training frames (optimistic)")
            evaluated = frames
        Xt = evaluated[columns]
        if model.kind is Kind.classifier:
            yt = evaluated[LABEL].astype(bool).astype(int).to_numpy()
            p = pipeline.predict_proba(Xt)[:, 1]
            out_metrics.update(metrics.classifier(yt, p, metrics.tier_thresholds(checked, name)))
            out_metrics["importance"] = metrics.importance(pipeline, Xt, yt, "roc_auc", seed)
        else:
            yt = evaluated[LABEL].astype(float).to_numpy()
            out_metrics.update(metrics.regressor(yt, pipeline.predict(Xt)))
            out_metrics["importance"] = metrics.importance(pipeline, Xt, yt, "r2", seed)
        out_metrics["evaluated_on"] = "test" if testing is not None and len(testing) else "training"
    portable = export(pipeline)
    try:
        check(portable)
    except ModelTooLarge as exc:
        raise _spec_error(spec, "PRED110", f"models.{name}: {exc}", (MODELS, name, "algorithm")) from None
    sample = (testing if testing is not None and len(testing) else frames)
    sample = sample.sample(min(len(sample), PARITY_ROWS), random_state=seed)
    parity = check_parity(pipeline, portable, sample[columns], con)
    if not parity.ok:
        raise segrules.PluginError(f"models.{name}: the in-database scores differ from scikit-learn's: "
                                   f"{parity.message()}")
    log(f"  parity: {parity.message()}")
    trained_at = datetime.now(timezone.utc).replace(microsecond=0)
    import sklearn

    artifact = {
        "spec": spec.name, "model_name": name, "kind": model.kind.value, "algorithm": model.algorithm.value,
        "params": params, "spec_hash": artifacts.spec_hash(checked, name),
        "features": [{"name": column, "expression": text.strip(), "kind": kinds[column]}
                     for column, text, _ in model.feature_items()],
        "label": model.label, "population": model.population,
        "training_times": [f"{t:%Y-%m-%d %H:%M:%S}" for t in times],
        "test_time": None if test is None else f"{test:%Y-%m-%d %H:%M:%S}",
        "rows": {"train": int(len(frames)), "test": 0 if testing is None else int(len(testing))},
        "trained_at": trained_at.isoformat(), "scikit_learn": sklearn.__version__,
        "sql_size": size(portable),
        "parity": {"rows": parity.rows, "max_difference": parity.max_difference, "mismatches": parity.mismatches,
                   "ambiguous": parity.ambiguous}, "metrics": out_metrics, "model": portable,
    }
    from .card import model_card

    path = artifacts.save(spec.document.path, spec.name, name, artifact, model_card)
    return Trained(path, path.with_suffix(".html"), artifacts.load(path), pipeline)


def summary(artifact: dict[str, Any]) -> list[str]:
    """The lines ``segrules train`` prints: where the artifact is and its test metrics."""
    m = artifact["metrics"]
    lines = []
    if artifact["kind"] == "classifier":
        lines.append(f"AUC-ROC {m['auc_roc']:.3f} on {m['rows']} rows ({m['evaluated_on']}), positive rate "
                     f"{m['positive_rate']:.3f}, Brier {m['brier']:.3f}, calibration error {m['calibration_error']:.3f}")
        for tier in m["tiers"]:
            p = "-" if tier["precision"] is None else f"{tier['precision']:.3f}"
            r = "-" if tier["recall"] is None else f"{tier['recall']:.3f}"
            lines.append(f"  score > {tier['threshold']:g} ({tier['segment']}): {tier['selected']} selected, "
                         f"precision {p}, recall {r}")
    elif artifact["kind"] == "regressor":
        lines.append(f"R2 {m['r2']:.3f}, MAE {m['mae']:.3f} on {m['rows']} rows ({m['evaluated_on']})")
    else:
        lines.append(f"k = {m['k']}, silhouette {m['silhouette']:.3f} on {m['rows']} rows")
        for p in m["profiles"]:
            why = ", ".join(p.get("distinguished_by", [])) or "close to the average"
            lines.append(f"  cluster {p['cluster']}: {p['size']} ({p['share']:.1%}): {why}")
    if m.get("importance"):
        top = ", ".join(f"{r['feature']} {r['importance']:.3f}" for r in m["importance"][:5])
        lines.append(f"feature importance (permutation): {top}")
    return lines
