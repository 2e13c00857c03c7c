"""The ``models:`` spec section (pydantic models) and the expressions it hands to segrules to parse
and type-check with the spec: each feature (an entity expression, like a spec feature) and the
label (an entity expression that may read the rows after now with ``within next D``)."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from segrules.plugin import SourceExpression, as_expression_text

MODELS = "models"
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Kind(str, Enum):
    classifier = "classifier"  # score('m'): the probability that the label is true
    regressor = "regressor"  # score('m'): the predicted value of the label
    clusters = "clusters"  # cluster('m'): the nearest centroid (0..k-1)


class Algorithm(str, Enum):
    logistic = "logistic"
    random_forest = "random_forest"
    gradient_boosting = "gradient_boosting"
    kmeans = "kmeans"


def _moment(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


class Train(BaseModel):
    """When the training frames are taken and how many rows they keep."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    as_of: list[date | datetime] = Field(min_length=1, description="Training times T: the features are "
                                         "computed as of each T, the label over the window after it.")
    test: date | datetime | None = Field(None, description="A later time: the model is evaluated on the "
                                         "frame taken then (never a random split of a training time).")
    sample: int | None = Field(None, ge=100, description="At most this many rows of the training frames "
                               "(a random sample, drawn with seed).")
    seed: int = Field(0, description="Seed of the sample and the algorithm.")

    @property
    def times(self) -> list[datetime]:
        return [_moment(t) for t in self.as_of]

    @property
    def test_time(self) -> datetime | None:
        return None if self.test is None else _moment(self.test)


class Model(BaseModel):
    """One model: what it predicts (label), from what (features), how, and when it is trained."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Kind = Field(description="classifier | regressor | clusters.")
    label: str | None = Field(None, description="What is predicted, per entity, over the window after each "
                              "training time: count(orders within next 30d) == 0. Not for clusters.")
    features: list[str | dict[str, str]] = Field(min_length=1, description="Entity expressions computed as of "
                                                 "each training time: ltv, days_since(last_order_at), or "
                                                 "{recency: days_since(last_order_at)} to name one.")
    population: str | None = Field(None, description="Who the model is trained on and scores, as of each "
                                   "time (a rule; others get null): days_since(trial_started_at) between 7 and 14.")
    algorithm: Algorithm = Field(description="logistic | random_forest | gradient_boosting | kmeans.")
    params: dict[str, int | float | str | bool | None] = Field(default_factory=dict, description="Parameters of "
                                                               "the algorithm (scikit-learn's names): n_estimators, "
                                                               "max_depth, C...")
    k: int | None = Field(None, ge=2, le=50, description="Clusters: their number (default: chosen by "
                          "silhouette on a sample, from 2 to max_k).")
    max_k: int = Field(8, ge=2, le=50, description="Clusters: the largest k the silhouette search tries.")
    static: list[str] = Field(default_factory=list, description="Entity columns that never change after "
                              "an entity is created (country): features may read them at a past T.")
    train: Train

    _as_text = field_validator("label", "population", mode="before")(as_expression_text)

    @field_validator("features", mode="before")
    @classmethod
    def _texts(cls, value):
        if not isinstance(value, list):
            return value
        out = []
        for item in value:
            if isinstance(item, dict):
                out.append({k: as_expression_text(v) for k, v in item.items()})
            else:
                out.append(as_expression_text(item))
        return out

    @field_validator("features")
    @classmethod
    def _one_name_each(cls, value):
        for item in value:
            if isinstance(item, dict) and len(item) != 1:
                raise ValueError("a named feature is one {name: expression} pair")
        return value

    def feature_items(self) -> list[tuple[str, str, tuple[str | int, ...]]]:
        """(column name, expression text, path of the text in the model) per feature; a bare
        expression is named after its text (``days_since(last_order_at)`` ->
        ``days_since_last_order_at``), made unique by a suffix."""
        out: list[tuple[str, str, tuple[str | int, ...]]] = []
        taken: set[str] = set()
        for i, item in enumerate(self.features):
            if isinstance(item, dict):
                (name, text), = item.items()
                path: tuple[str | int, ...] = ("features", i, name)
            else:
                text, path = item, ("features", i)
                name = text.strip() if _IDENTIFIER.fullmatch(text.strip()) else \
                    re.sub(r"\W+", "_", text).strip("_").lower() or f"feature_{i}"
            base, n = name, 2
            while name in taken:
                name, n = f"{base}_{n}", n + 1
            taken.add(name)
            out.append((name, text, path))
        return out


def feature_key(model: str, column: str) -> str:
    return f"{model}.feature.{column}"


def label_key(model: str) -> str:
    return f"{model}.label"


def population_key(model: str) -> str:
    return f"{model}.population"


def model_expressions(config: dict[str, Model], spec_model=None) -> list[SourceExpression]:
    """Every model's features (entity expressions) and label (may read after now: ``future``)."""
    out = []
    for name, m in config.items():
        for column, text, path in m.feature_items():
            out.append(SourceExpression(feature_key(name, column), None, text, (MODELS, name, *path)))
        if m.population is not None:
            out.append(SourceExpression(population_key(name), None, m.population, (MODELS, name, "population"),
                                        expect="boolean"))
        if m.label is not None and m.kind is not Kind.clusters:
            expect = "boolean" if m.kind is Kind.classifier else "numeric"
            out.append(SourceExpression(label_key(name), None, m.label, (MODELS, name, "label"), expect=expect,
                                        future=True))
    return out
