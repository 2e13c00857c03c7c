"""A fitted pipeline (``pipeline.build_pipeline``) as a versioned, JSON-able description, so that
scoring needs no scikit-learn: ``scoring.to_ibis`` reads only this dict.

Format ``FORMAT`` version ``VERSION``::

    {"format": "segrules-predict-model", "version": 1, "kind": "classifier", "algorithm": "logistic",
     "sklearn": "1.9.1", "missing": "__missing__",
     "numeric": [{"name": "ltv", "impute": 12.5, "mean": 40.1, "scale": 22.3}, ...],
     "categorical": [{"name": "country", "categories": ["DE", "FR", "__missing__"]}, ...],
     "classes": [false, true],                       # classifiers: classes[1] is the positive class
     "model": {...}}                                 # by algorithm, below

The model works on the *encoded* features: the numeric ones (imputed, then ``(x - mean) / scale``)
in order, then one 0/1 indicator per category of each categorical feature, in order.

* logistic: ``{"intercept": b, "coef": [w, ...]}`` (one weight per encoded feature);
* trees (random_forest, gradient_boosting): ``{"init": r0, "learning_rate": lr, "average": bool,
  "trees": [{"feature": [...], "threshold": [...], "left": [...], "right": [...], "value": [...]}]}``
  node arrays as scikit-learn keeps them (``feature`` -1 at a leaf, ``left``/``right`` child
  indices); a split sends a row left when ``float32(encoded value) <= threshold`` (scikit-learn
  casts its input to float32 before it walks a tree; thresholds are exact binary64 numbers);
  ``value`` at a leaf is the class probabilities of the leaf (random forest classifier) or the
  leaf's output (regressors, gradient boosting's raw score); random forests average their trees,
  gradient boosting sums ``init + learning_rate * leaf`` in tree order;
* kmeans: ``{"centroids": [[...], ...]}`` in the encoded space.

Floats are Python floats; ``json.dumps``/``json.loads`` restore them bit for bit.
"""

from __future__ import annotations

from typing import Any

FORMAT = "segrules-predict-model"
VERSION = 1


class ExportError(ValueError):
    """The fitted pipeline is not of the shape ``pipeline.build_pipeline`` builds."""


def export(pipeline: Any) -> dict[str, Any]:
    """The fitted ``pipeline`` as a JSON-able dict (see the module docstring)."""
    import sklearn

    from .pipeline import MISSING

    try:
        prepare, estimator = pipeline.named_steps["prepare"], pipeline.named_steps["model"]
        parts = prepare.named_transformers_
    except (AttributeError, KeyError) as exc:
        raise ExportError(f"not a fitted segrules pipeline: {exc}") from exc
    kind, algorithm = _kind_and_algorithm(estimator)
    out: dict[str, Any] = {"format": FORMAT, "version": VERSION, "kind": kind, "algorithm": algorithm,
                           "sklearn": sklearn.__version__, "missing": MISSING, "numeric": [], "categorical": []}
    if "numeric" in parts:
        impute, scale = parts["numeric"].named_steps["impute"], parts["numeric"].named_steps["scale"]
        names = list(impute.feature_names_in_)
        out["numeric"] = [{"name": str(name), "impute": float(impute.statistics_[i]), "mean": float(scale.mean_[i]),
                           "scale": float(scale.scale_[i])} for i, name in enumerate(names)]
    if "categorical" in parts:
        onehot = parts["categorical"].named_steps["onehot"]
        names = list(parts["categorical"].feature_names_in_)
        out["categorical"] = [{"name": str(name), "categories": [str(c) for c in onehot.categories_[i]]}
                              for i, name in enumerate(names)]
    width = len(out["numeric"]) + sum(len(c["categories"]) for c in out["categorical"])
    if kind == "classifier":
        classes = [_plain(c) for c in estimator.classes_]
        if len(classes) != 2:
            raise ExportError(f"a classifier needs exactly two classes, the label has {len(classes)}")
        out["classes"] = classes
    out["model"] = _MODEL[algorithm](estimator)
    if algorithm == "kmeans":
        assert all(len(c) == width for c in out["model"]["centroids"])
    return out


def _kind_and_algorithm(estimator: Any) -> tuple[str, str]:
    name = type(estimator).__name__
    table = {"LogisticRegression": ("classifier", "logistic"), "LinearRegression": ("regressor", "logistic"),
             "RandomForestClassifier": ("classifier", "random_forest"),
             "RandomForestRegressor": ("regressor", "random_forest"),
             "GradientBoostingClassifier": ("classifier", "gradient_boosting"),
             "GradientBoostingRegressor": ("regressor", "gradient_boosting"), "KMeans": ("clusters", "kmeans")}
    if name not in table:
        raise ExportError(f"no export for a {name}")
    return table[name]


def _plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON keeps (bool, int, float or str)."""
    return value.item() if hasattr(value, "item") else value


def _linear(estimator: Any) -> dict[str, Any]:
    import numpy as np

    coef, intercept = np.ravel(estimator.coef_), np.ravel(estimator.intercept_)
    if np.ndim(estimator.coef_) == 2 and estimator.coef_.shape[0] != 1:
        raise ExportError("only a binary logistic regression can be exported")
    return {"intercept": float(intercept[0]), "coef": [float(w) for w in coef]}


def _tree(tree: Any, leaf_value: Any) -> dict[str, Any]:
    t = tree.tree_
    leaves = t.children_left == -1
    return {"feature": [int(f) if not leaf else -1 for f, leaf in zip(t.feature, leaves)],
            "threshold": [float(x) if not leaf else 0.0 for x, leaf in zip(t.threshold, leaves)],
            "left": [int(i) for i in t.children_left], "right": [int(i) for i in t.children_right],
            "value": [leaf_value(t.value[i]) if leaf else None for i, leaf in enumerate(leaves)]}


def _forest(estimator: Any) -> dict[str, Any]:
    if type(estimator).__name__.endswith("Classifier"):
        def leaf(value: Any) -> list[float]:
            # predict_proba divides the leaf's row by its sum (a zero sum by 1): the same numbers here
            row = value[0].copy()
            total = row.sum()
            return [float(p) for p in row / (total if total != 0.0 else 1.0)]
    else:
        def leaf(value: Any) -> float:  # type: ignore[misc]
            return float(value[0][0])
    return {"init": 0.0, "learning_rate": 1.0, "average": True,
            "trees": [_tree(tree, leaf) for tree in estimator.estimators_]}


def _boosting(estimator: Any) -> dict[str, Any]:
    import numpy as np

    if estimator.estimators_.shape[1] != 1:
        raise ExportError("only binary gradient boosting can be exported")
    # the raw score before the first tree (log-odds of the prior, or the mean) is a constant
    init = estimator._raw_predict_init(np.zeros((1, estimator.n_features_in_), dtype=np.float32))
    return {"init": float(init[0, 0]), "learning_rate": float(estimator.learning_rate), "average": False,
            "trees": [_tree(stage[0], lambda value: float(value[0][0])) for stage in estimator.estimators_]}


def _kmeans(estimator: Any) -> dict[str, Any]:
    return {"centroids": [[float(x) for x in row] for row in estimator.cluster_centers_]}


_MODEL = {"logistic": _linear, "random_forest": _forest, "gradient_boosting": _boosting, "kmeans": _kmeans}
