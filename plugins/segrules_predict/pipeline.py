"""The one supported pipeline shape, built for training (needs the ``predict`` extra).

    prepare: numeric  -> median imputation -> standard scaling
             categorical -> text (missing -> MISSING) -> one-hot, unknown categories ignored
    model:   logistic | random_forest | gradient_boosting (classifier or regressor) | kmeans (clusters)

The encoded feature order is fixed: the numeric features in the given order, then each categorical
feature's categories in scikit-learn's (sorted) order. ``portable.export`` reads exactly this shape
and nothing else, so every model it exports can be scored in SQL by ``scoring.to_ibis``.
"""

from __future__ import annotations

from typing import Any

#: What a missing categorical value becomes before one-hot encoding (a category of its own when the
#: training data had missing values; otherwise an unknown category, i.e. all indicators zero).
MISSING = "__missing__"

#: Algorithms per kind of model; "logistic" for a regressor is a linear regression.
ALGORITHMS: dict[str, tuple[str, ...]] = {
    "classifier": ("logistic", "random_forest", "gradient_boosting"),
    "regressor": ("logistic", "random_forest", "gradient_boosting"),
    "clusters": ("kmeans",),
}

#: Defaults that keep a model within the SQL size limit (``scoring.MAX_NODES``); ``params`` override.
DEFAULTS: dict[str, dict[str, Any]] = {
    "logistic": {"max_iter": 1000},
    "random_forest": {"n_estimators": 50, "max_depth": 6},
    "gradient_boosting": {"n_estimators": 100, "max_depth": 3, "learning_rate": 0.1},
    "kmeans": {"n_clusters": 5, "n_init": 10},
}


def as_text(values: Any) -> Any:
    """Categorical values as text, missing (None, NaN, NA) as ``MISSING``: the same mapping
    ``scoring`` applies in SQL with ``coalesce(cast(x as string), MISSING)`` (booleans as SQL
    writes them, 'true'/'false')."""
    import numpy as np
    import pandas as pd

    frame = pd.DataFrame(values)
    out = np.empty(frame.shape, dtype=object)
    for j, column in enumerate(frame.columns):
        col = frame[column]
        missing = col.isna().to_numpy()
        if pd.api.types.is_bool_dtype(col.dtype):
            text = np.where(col.fillna(False).to_numpy(dtype=bool), "true", "false").astype(object)
        elif col.dtype == object:
            text = np.array([_text(v) for v in col.tolist()], dtype=object)
        else:
            text = col.astype(str).to_numpy(dtype=object)
        text[missing] = MISSING
        out[:, j] = text
    return out


def _text(value: Any) -> str:
    # SQL casts booleans to 'true'/'false'; Python's str() would say 'True'.
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_pipeline(numeric: list[str], categorical: list[str], algorithm: str, params: dict[str, Any],
                   seed: int, *, kind: str = "classifier") -> Any:
    """An unfitted ``sklearn.pipeline.Pipeline`` of the one supported shape. Fit it on a DataFrame
    holding the ``numeric`` and ``categorical`` columns (numeric as numbers with NaN/None for
    missing, categorical as anything ``str()`` renders, None/NaN for missing)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    if kind not in ALGORITHMS:
        raise ValueError(f"unknown kind of model {kind!r}; expected one of {', '.join(ALGORITHMS)}")
    if algorithm not in ALGORITHMS[kind]:
        raise ValueError(f"algorithm {algorithm!r} does not fit a {kind}; expected one of "
                         f"{', '.join(ALGORITHMS[kind])}")
    overlap = set(numeric) & set(categorical)
    if overlap or not (numeric or categorical):
        raise ValueError("a pipeline needs at least one feature, each either numeric or categorical"
                         + (f" (both: {', '.join(sorted(overlap))})" if overlap else ""))
    parts = []
    if numeric:
        parts.append(("numeric", Pipeline([
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
        ]), list(numeric)))
    if categorical:
        parts.append(("categorical", Pipeline([
            ("text", FunctionTransformer(as_text, feature_names_out="one-to-one")),
            ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]), list(categorical)))
    prepare = ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)
    return Pipeline([("prepare", prepare), ("model", _estimator(kind, algorithm, {**DEFAULTS[algorithm], **params},
                                                               seed))])


def _estimator(kind: str, algorithm: str, params: dict[str, Any], seed: int) -> Any:
    from sklearn import cluster, ensemble, linear_model

    if algorithm == "kmeans":
        return cluster.KMeans(random_state=seed, **params)
    if algorithm == "logistic":
        if kind == "classifier":
            return linear_model.LogisticRegression(random_state=seed, **params)
        return linear_model.LinearRegression(**{k: v for k, v in params.items() if k != "max_iter"})
    if algorithm == "random_forest":
        cls = ensemble.RandomForestClassifier if kind == "classifier" else ensemble.RandomForestRegressor
        return cls(random_state=seed, n_jobs=None, **params)
    cls = ensemble.GradientBoostingClassifier if kind == "classifier" else ensemble.GradientBoostingRegressor
    return cls(random_state=seed, **params)
