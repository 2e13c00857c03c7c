"""The training-time proof that the SQL equals scikit-learn: score a sample both ways, on the
backend the model will run on, and compare (``check_parity``).

What must hold: labels and clusters identical, probabilities within ``TOLERANCE`` (absolute),
regression values within ``TOLERANCE`` relative to their size. Two kinds of rows are exempt from
the label comparison because no SQL can reproduce scikit-learn there bit for bit — BLAS sums a
logistic regression's terms and k-means' distances in an order of its own: a logistic regression
row whose raw score is within ``AMBIGUOUS`` of 0, a k-means row whose two nearest centroids are
within ``AMBIGUOUS`` (relative) of each other. They are counted in ``Parity.ambiguous``. Trees
are compared with no exemption: the SQL adds them in scikit-learn's order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .scoring import OUTPUTS, to_ibis

TOLERANCE = 1e-6
AMBIGUOUS = 1e-9
_ROW = "__segrules_row"


class ParityError(AssertionError):
    """The SQL does not reproduce scikit-learn on the sample."""


@dataclass(frozen=True)
class Parity:
    rows: int
    max_difference: float = 0.0      # largest |SQL - scikit-learn| of score/value (0 for clusters)
    mismatches: int = 0              # rows whose label/cluster differ (outside the ambiguous rows)
    ambiguous: int = 0               # rows exempt from the label comparison (see the module docstring)
    examples: list[dict[str, Any]] = field(default_factory=list)  # a few failing rows, for the message

    @property
    def ok(self) -> bool:
        return self.mismatches == 0 and self.max_difference <= TOLERANCE

    def message(self) -> str:
        verdict = "SQL equals scikit-learn" if self.ok else "SQL differs from scikit-learn"
        text = (f"{verdict} on {self.rows} rows: largest difference {self.max_difference:.3g} "
                f"(limit {TOLERANCE:g}), {self.mismatches} label(s) differ")
        if self.ambiguous:
            text += f", {self.ambiguous} row(s) at a tie exempt"
        return text + "".join(f"\n  {row}" for row in self.examples)

    def raise_for_failure(self) -> None:
        if not self.ok:
            raise ParityError(self.message())


def check_parity(pipeline: Any, model: Mapping[str, Any], sample: Any, con: Any = None) -> Parity:
    """Score the pandas DataFrame ``sample`` (the feature columns) with the fitted ``pipeline`` and
    with ``scoring.to_ibis(model, ...)`` on the Ibis backend ``con`` (in-memory DuckDB when None),
    and compare every output of the model's kind."""
    import ibis
    import numpy as np

    if con is None:
        con = ibis.duckdb.connect()
    names = [f["name"] for f in model["numeric"] + model["categorical"]]
    frame = sample[names].reset_index(drop=True).copy()
    frame[_ROW] = np.arange(len(frame), dtype=np.int64)
    table = ibis.memtable(frame)
    columns = {name: table[name] for name in names}
    outputs = OUTPUTS[model["kind"]]
    query = table.select(table[_ROW], **{o: to_ibis(model, columns, o) for o in outputs}).order_by(_ROW)
    sql = con.execute(query)
    features = sample[names].reset_index(drop=True)
    kind = model["kind"]
    if kind == "classifier":
        return _compare(sql["score"].to_numpy(float), pipeline.predict_proba(features)[:, 1],
                        sql["label"].tolist(), pipeline.predict(features).tolist(), _label_ties(pipeline, features))
    if kind == "regressor":
        expected = pipeline.predict(features)
        scale = np.maximum(1.0, np.abs(expected))
        got = sql["value"].to_numpy(float)
        return _compare(got / scale, expected / scale, [], [], np.zeros(len(frame), bool))
    return _compare(np.zeros(len(frame)), np.zeros(len(frame)), sql["cluster"].tolist(),
                    pipeline.predict(features).tolist(), _centroid_ties(pipeline, features))


def _compare(got: Any, expected: Any, labels: list[Any], expected_labels: list[Any], ties: Any) -> Parity:
    import numpy as np

    rows = len(got)
    difference = np.abs(got - expected) if rows else np.zeros(0)
    max_difference = float(np.max(difference)) if rows else 0.0
    if np.isnan(difference).any():
        max_difference = float("inf")
    differ = [i for i, (a, b) in enumerate(zip(labels, expected_labels)) if _plain(a) != _plain(b)]
    mismatches = [i for i in differ if not ties[i]]
    bad = sorted(set(mismatches) | {int(i) for i in np.flatnonzero(~(difference <= TOLERANCE))})
    examples = [{"row": i, "sql": float(got[i]), "sklearn": float(expected[i]),
                 **({"sql_label": labels[i], "sklearn_label": expected_labels[i]} if labels else {})}
                for i in bad[:5]]
    return Parity(rows, max_difference, len(mismatches), int(np.sum(ties)), examples)


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def _label_ties(pipeline: Any, features: Any) -> Any:
    import numpy as np

    if type(pipeline.named_steps["model"]).__name__ != "LogisticRegression":
        return np.zeros(len(features), bool)
    return np.abs(pipeline.decision_function(features)) <= AMBIGUOUS


def _centroid_ties(pipeline: Any, features: Any) -> Any:
    import numpy as np

    distances = np.sort(pipeline.transform(features), axis=1)  # distance to every centroid
    if distances.shape[1] < 2:
        return np.zeros(len(features), bool)
    near, second = distances[:, 0] ** 2, distances[:, 1] ** 2
    return second - near <= AMBIGUOUS * np.maximum(1.0, second)
