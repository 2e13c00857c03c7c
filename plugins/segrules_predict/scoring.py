"""A model exported by ``portable.export`` as ONE Ibis expression over the feature columns, so that
``score('m')`` / ``cluster('m')`` run inside the database, in the one fused query. Needs no
scikit-learn (numpy only, to reproduce float32 rounding at split points).

The expression reproduces scikit-learn's arithmetic, not just its maths:

* numeric features are cast to double and imputed (``coalesce``) with the training median;
  categorical ones are cast to text, a null becomes ``pipeline.MISSING``, a category the training
  data did not have matches no indicator (scikit-learn's ``handle_unknown="ignore"``);
* every number reaches SQL as ``CAST('<repr>' AS DOUBLE)``: the shortest text that round-trips,
  parsed by the database as binary64. A bare literal ``0.1`` is a DECIMAL in DuckDB and a NUMERIC
  in PostgreSQL, and a CASE of such literals would compute in decimal, not in binary64;
* a tree split on a numeric feature compares the raw imputed double with its exact cut point
  (``cutpoints.cut``): the same side as scikit-learn's float32 comparison of the scaled value;
* ensembles add their trees left to right in scikit-learn's order (``init + lr*t1 + lr*t2 ...``,
  a forest ``(t1 + t2 + ...) / n``), so ties between classes resolve as ``argmax`` does; the sum
  is one Ibis operation, ``treesql.TreeSum``, compiled straight to those nested CASEs (building
  them from Ibis's API took longer than DuckDB needs to score a million rows);
* k-means picks the first centroid with the smallest ``|c|^2 - 2 x.c`` (scikit-learn's distance
  without the row's constant ``|x|^2``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from .treesql import Splits
from .portable import FORMAT, VERSION

#: The largest model compiled to SQL, in ``size()`` units (a tree node, a weight, a centroid
#: coordinate). 20,000 is 100 trees of depth 7, or k-means with k=20 over 1,000 encoded features;
#: larger expressions take seconds to compile and produce megabytes of SQL.
MAX_SIZE = 20_000
#: Trees are added left to right, one nested expression per tree (the order decides ties).
MAX_TREES = 500

Output = Literal["score", "label", "value", "cluster"]
OUTPUTS: dict[str, tuple[str, ...]] = {"classifier": ("score", "label"), "regressor": ("value",),
                                       "clusters": ("cluster",)}


class ScoringError(ValueError):
    """The model description or the columns given cannot be scored."""


class ModelTooLarge(ScoringError):
    """The model's SQL would exceed ``MAX_SIZE`` (or ``MAX_TREES``)."""

    def __init__(self, size: int, trees: int = 0) -> None:
        self.size = size
        self.trees = trees
        what = (f"{trees} trees (at most {MAX_TREES})" if trees > MAX_TREES
                else f"size {size:,} (at most {MAX_SIZE:,} tree nodes, weights and centroid coordinates)")
        super().__init__(f"the model is too large to score in SQL: {what}; use fewer or shallower trees "
                         "(n_estimators, max_depth), fewer clusters or fewer categories")


def size(model: Mapping[str, Any]) -> int:
    """The model's size in SQL terms: tree nodes, linear weights, centroid coordinates."""
    body = model["model"]
    if "trees" in body:
        return sum(len(tree["feature"]) for tree in body["trees"])
    if "centroids" in body:
        return sum(len(c) for c in body["centroids"])
    return len(body["coef"]) + 1


def check(model: Mapping[str, Any]) -> None:
    """Raise ScoringError for a description this version cannot read, ModelTooLarge for one too
    large to compile."""
    if model.get("format") != FORMAT or model.get("version") != VERSION:
        raise ScoringError(f"not a {FORMAT} version {VERSION} description (format {model.get('format')!r}, "
                           f"version {model.get('version')!r}); retrain the model")
    trees = len(model["model"].get("trees", ()))
    if size(model) > MAX_SIZE or trees > MAX_TREES:
        raise ModelTooLarge(size(model), trees)


def to_ibis(model: Mapping[str, Any], columns: Mapping[str, Any], output: Output) -> Any:
    """The model's ``output`` for each row, as an Ibis value over ``columns`` (feature name -> Ibis
    column or expression): ``score`` the probability of the positive class (``classes[1]``) and
    ``label`` the predicted class of a classifier, ``value`` a regressor's prediction, ``cluster``
    the k-means cluster number (0..k-1)."""
    check(model)
    kind = model["kind"]
    if output not in OUTPUTS[kind]:
        raise ScoringError(f"a {kind} has no {output!r}; it has {', '.join(OUTPUTS[kind])}")
    missing = [f["name"] for f in model["numeric"] + model["categorical"] if f["name"] not in columns]
    if missing:
        raise ScoringError(f"no column for the feature(s) {', '.join(missing)}")
    inputs = _Inputs(model, columns)
    body = model["model"]
    if "centroids" in body:
        return _nearest(inputs, body["centroids"])
    if "trees" in body:
        return _ensemble(model, inputs, output)
    z = _linear(inputs, body)
    return _classify(model, z, output) if kind == "classifier" else z


def number(value: float) -> Any:
    """A binary64 literal that every backend reads as exactly ``value`` (see the module docstring)."""
    import ibis

    return ibis.literal(repr(float(value))).cast("float64")


class _Inputs:
    """The imputed numeric doubles and the categorical texts, built once and shared."""

    def __init__(self, model: Mapping[str, Any], columns: Mapping[str, Any]) -> None:
        import ibis

        self.model = model
        self.missing = model["missing"]
        self.raw = [_as_number(columns[f["name"]]) for f in model["numeric"]]
        self.numeric = [(f, ibis.coalesce(x.cast("float64"), number(f["impute"])))
                        for f, x in zip(model["numeric"], self.raw)]
        self.texts = [_as_text(columns[f["name"]]) for f in model["categorical"]]
        self.categorical = [(f, ibis.coalesce(text, ibis.literal(self.missing)))
                            for f, text in zip(model["categorical"], self.texts)]

    def scaled(self, n: int) -> Any:
        feature, x = self.numeric[n]
        return (x - number(feature["mean"])) / number(feature["scale"])

    def category_weights(self, weights: list[float]) -> list[Any]:
        """Per categorical feature: CASE text WHEN category THEN weight ... ELSE 0 (one-hot · w)."""
        import ibis

        out = []
        offset = len(self.numeric)
        for feature, text in self.categorical:
            pairs = [(category, weights[offset + i]) for i, category in enumerate(feature["categories"])]
            offset += len(pairs)
            pairs = [(category, w) for category, w in pairs if w != 0.0]
            if pairs:
                out.append(text.cases(*[(ibis.literal(category), number(w)) for category, w in pairs],
                                      else_=number(0.0)))
        return out

    def splits(self) -> Splits:
        """The trees' split conditions over the raw columns (integers, or cast to double)."""
        numeric = [(f, x if x.type().is_integer() or x.type().is_float64() else x.cast("float64"))
                   for (f, _), x in zip(self.numeric, self.raw)]
        return Splits(self.model, numeric, self.texts)


def _as_number(column: Any) -> Any:
    """A boolean column as 0/1 (PostgreSQL has no boolean-to-double cast), others as they are."""
    import ibis

    if column.type().is_boolean():
        return ibis.cases((column, 1), (~column, 0), else_=ibis.null("int64"))
    return column


def _as_text(column: Any) -> Any:
    return column if column.type().is_string() else column.cast("string")


def _linear(inputs: _Inputs, body: Mapping[str, Any]) -> Any:
    coef = body["coef"]
    z = number(body["intercept"])
    for n in range(len(inputs.numeric)):
        if coef[n] != 0.0:
            z = z + inputs.scaled(n) * number(coef[n])
    for term in inputs.category_weights(coef):
        z = z + term
    return z


def _sigmoid(z: Any) -> Any:
    import ibis

    # exp() overflows (an error in PostgreSQL) past ~709; 1/(1+e^700) is 1e-304, i.e. 0 within 1e-6
    bounded = ibis.greatest(ibis.least(z, number(700.0)), number(-700.0))
    return number(1.0) / (number(1.0) + (-bounded).exp())


def _classify(model: Mapping[str, Any], z: Any, output: str) -> Any:
    """A binary classifier's score (sigmoid of the raw score) or label (raw score > 0, as
    scikit-learn's predict decides)."""
    import ibis

    if output == "score":
        return _sigmoid(z)
    negative, positive = model["classes"]
    return ibis.cases((z > number(0.0), ibis.literal(positive)), else_=ibis.literal(negative))


def _ensemble(model: Mapping[str, Any], inputs: _Inputs, output: str) -> Any:
    import ibis

    body = model["model"]
    trees = body["trees"]
    if body["average"]:  # a forest: (t1 + t2 + ...) / n, per class for a classifier
        def total(pick: Any) -> Any:
            return inputs.splits().total(trees, pick) / number(float(len(trees)))

        if model["kind"] != "classifier":
            return total(lambda v: v)
        p1 = total(lambda v: v[1])
        if output == "score":
            return p1
        negative, positive = model["classes"]
        # argmax takes the first class on a tie
        return ibis.cases((p1 > total(lambda v: v[0]), ibis.literal(positive)), else_=ibis.literal(negative))
    rate = body["learning_rate"]
    raw = inputs.splits().total(trees, lambda v: rate * v, init=body["init"])
    return _classify(model, raw, output) if model["kind"] == "classifier" else raw


def _nearest(inputs: _Inputs, centroids: list[list[float]]) -> Any:
    """The index of the first nearest centroid."""
    import ibis

    distances = []
    for centroid in centroids:
        d = number(sum(c * c for c in centroid))
        for n in range(len(inputs.numeric)):
            if centroid[n] != 0.0:
                d = d - number(2.0 * centroid[n]) * inputs.scaled(n)
        for term in inputs.category_weights([2.0 * c for c in centroid]):
            d = d - term
        distances.append(d)
    smallest = ibis.least(*distances) if len(distances) > 1 else distances[0]
    return ibis.cases(*[(d == smallest, ibis.literal(j, type="int64")) for j, d in enumerate(distances)],
                      else_=ibis.literal(0, type="int64"))
