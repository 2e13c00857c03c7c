"""Evaluation of a trained model on the frame of the later ``test`` time: AUC-ROC, precision and
recall at the thresholds the spec's segments use, calibration, feature importance (classifiers);
R², MAE (regressors); silhouette, sizes and profiles (clusters). Needs scikit-learn."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from segrules.plugin import ast

IMPORTANCE_ROWS = 5_000  # permutation importance on at most this many test rows
SILHOUETTE_ROWS = 5_000


def tier_thresholds(checked, name: str) -> list[tuple[str, float]]:
    """(segment, threshold) for every comparison of ``score(name)`` with a number in the spec's
    segments: ``score('m') > 0.8`` gives 0.8; ``between 0.5 and 0.8`` gives 0.5."""
    def is_score(node) -> bool:
        return (isinstance(node, ast.Call) and node.name == "score" and len(node.args) == 1
                and isinstance(node.args[0], ast.String) and node.args[0].value == name)

    out: list[tuple[str, float]] = []
    for segment, root in checked.segments.items():
        for node in root.walk():
            if isinstance(node, ast.Compare) and node.op in (">", ">=", "<", "<="):
                for mine, other in ((node.left, node.right), (node.right, node.left)):
                    if is_score(mine) and isinstance(other, ast.Number):
                        out.append((segment, float(other.value)))
            elif isinstance(node, ast.Between) and is_score(node.operand) and isinstance(node.low, ast.Number):
                out.append((segment, float(node.low.value)))
    return sorted(set(out), key=lambda item: (-item[1], item[0]))


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 6)


def classifier(y: np.ndarray, p: np.ndarray, thresholds: list[tuple[str, float]]) -> dict[str, Any]:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    out: dict[str, Any] = {"rows": int(len(y)), "positive_rate": _finite(float(np.mean(y))) if len(y) else None}
    out["auc_roc"] = _finite(roc_auc_score(y, p)) if len(set(y.tolist())) == 2 else None
    out["brier"] = _finite(brier_score_loss(y, p)) if len(y) else None
    tiers = []
    for segment, t in [("(0.5)", 0.5)] if not thresholds else thresholds:
        chosen = p > t
        tp = int(np.sum(chosen & (y == 1)))
        tiers.append({"segment": segment, "threshold": t, "selected": int(chosen.sum()),
                      "precision": _finite(tp / chosen.sum()) if chosen.sum() else None,
                      "recall": _finite(tp / np.sum(y == 1)) if np.sum(y == 1) else None})
    out["tiers"] = tiers
    bins = []
    edges = np.linspace(0, 1, 11)
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        if inside.any():
            bins.append({"from": round(float(lo), 1), "to": round(float(hi), 1), "rows": int(inside.sum()),
                         "predicted": _finite(float(p[inside].mean())), "observed": _finite(float(y[inside].mean()))})
    out["calibration"] = bins
    out["calibration_error"] = _finite(sum(b["rows"] * abs(b["predicted"] - b["observed"]) for b in bins) / len(y)) \
        if len(y) else None
    return out


def regressor(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    from sklearn.metrics import mean_absolute_error, r2_score

    return {"rows": int(len(y)), "r2": _finite(r2_score(y, p)) if len(y) > 1 else None,
            "mae": _finite(mean_absolute_error(y, p)) if len(y) else None}


def importance(pipeline, X, y, scoring: str, seed: int) -> list[dict[str, Any]]:
    """Permutation importance of each feature (the drop of ``scoring`` when it is shuffled), on a
    sample of the test frame, largest first."""
    from sklearn.inspection import permutation_importance

    if len(X) > IMPORTANCE_ROWS:
        X = X.sample(IMPORTANCE_ROWS, random_state=seed)
        y = y[X.index] if hasattr(y, "loc") else y
    if len(set(np.asarray(y).tolist())) < 2 and scoring == "roc_auc":
        return []
    found = permutation_importance(pipeline, X, y, scoring=scoring, n_repeats=5, random_state=seed)
    rows = [{"feature": column, "importance": _finite(mean), "std": _finite(std)}
            for column, mean, std in zip(X.columns, found.importances_mean, found.importances_std)]
    return sorted(rows, key=lambda r: -(r["importance"] or 0))


def choose_k(pipeline_for, X, k_max: int, seed: int) -> tuple[int, dict[int, float]]:
    """The k in 2..k_max with the best silhouette on a sample of ``X``; ``pipeline_for(k)`` builds
    the pipeline for k clusters."""
    from sklearn.metrics import silhouette_score

    sample = X.sample(min(len(X), SILHOUETTE_ROWS), random_state=seed)
    scores: dict[int, float] = {}
    for k in range(2, min(k_max, len(sample) - 1) + 1):
        pipe = pipeline_for(k).fit(sample)
        labels = pipe.predict(sample)
        if len(set(labels.tolist())) > 1:
            scores[k] = float(silhouette_score(pipe[:-1].transform(sample), labels))
    best = max(scores, key=lambda k: (scores[k], -k)) if scores else 2
    return best, {k: round(v, 4) for k, v in scores.items()}


def clusters(pipeline, X, kinds: dict[str, str], seed: int) -> dict[str, Any]:
    from sklearn.metrics import silhouette_score

    labels = pipeline.predict(X)
    sample = X.sample(min(len(X), SILHOUETTE_ROWS), random_state=seed)
    sample_labels = pipeline.predict(sample)
    silhouette = float(silhouette_score(pipeline[:-1].transform(sample), sample_labels)) \
        if len(set(sample_labels.tolist())) > 1 else None
    return {"rows": int(len(X)), "silhouette": _finite(silhouette) if silhouette is not None else None,
            "profiles": profiles(X, labels, kinds)}


def profiles(X, labels, kinds: dict[str, str]) -> list[dict[str, Any]]:
    """Per cluster: size, share, the mean of each numeric feature (the most common value of a string
    one) and what distinguishes it: the features whose mean is furthest from the overall mean, in
    standard deviations."""
    out = []
    numeric = [c for c, k in kinds.items() if k == "numeric"]
    overall_mean = X[numeric].mean() if numeric else None
    overall_std = X[numeric].std(ddof=0).replace(0, 1) if numeric else None
    for cluster in sorted(set(labels.tolist())):
        rows = X[labels == cluster]
        profile: dict[str, Any] = {"cluster": int(cluster), "size": int(len(rows)),
                                   "share": _finite(len(rows) / len(X)), "means": {}, "top": {}}
        for column in numeric:
            profile["means"][column] = _finite(float(rows[column].mean()))
        for column in (c for c, k in kinds.items() if k == "categorical"):
            counts = rows[column].value_counts()
            profile["top"][column] = None if counts.empty else str(counts.index[0])
        if numeric:
            z = (rows[numeric].mean() - overall_mean) / overall_std
            ranked = z.abs().sort_values(ascending=False)
            profile["distinguished_by"] = [f"{'high' if z[c] > 0 else 'low'} {c} ({z[c]:+.1f} sd)"
                                           for c in ranked.index[:2] if abs(z[c]) >= 0.25]
        out.append(profile)
    return out
