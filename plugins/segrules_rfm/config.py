"""The ``rfm:`` spec section: which transactions count, and how values become scores and labels."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from segrules.plugin import as_expression_text, duration_seconds, positive_duration

DEFAULT_NO_PURCHASE = "No purchases"


class Thresholds(BaseModel):
    """Cut points for ``method: thresholds``: ``bins - 1`` ascending numbers per value. Each is the
    inclusive upper bound of a bin: frequency ``[1, 2, 4, 8]`` puts 1 order in f=1, 2 in f=2, 3-4
    in f=3, 5-8 in f=4 and more in f=5. For recency the bins count down: ``[30, 90]`` with
    ``bins: 3`` gives r=3 up to 30 days, r=2 up to 90, r=1 beyond."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recency_days: list[float] = Field(description="Upper bounds of the recency bins, in days (best first).")
    frequency: list[float] = Field(description="Upper bounds of the frequency bins (worst first).")
    monetary: list[float] = Field(description="Upper bounds of the monetary bins (worst first).")


class RfmConfig(BaseModel):
    """``rfm:`` switches on the ``rfm.*`` values: recency, frequency and monetary value per entity
    over the qualifying transactions of ``source``, their scores and a label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="A source of the spec with a time column, e.g. orders.")
    amount: str = Field(description="An expression over the source's rows: the money of a transaction.")
    where: str | None = Field(None, description="Optional filter over the source's rows, e.g. status == 'paid'.")
    window: str | None = Field(None, description="Optional look-back from now, e.g. 365d: only "
                                                 "transactions with now - window < time <= now count.")
    method: Literal["quantiles", "thresholds"] = Field(
        "quantiles", description="quantiles: scores from ranks in the data; thresholds: fixed cut points.")
    bins: int = Field(5, ge=2, le=9, description="Number of score levels (2 to 9); scores run 1..bins.")
    thresholds: Thresholds | None = Field(None, description="Cut points for method: thresholds.")
    labels: dict[str, str] | None = Field(
        None, description="Custom label map: label -> rule over r, f and m (e.g. r >= 4 and f + m >= 8). "
                          "Default: the standard 11-segment map (bins: 5).")
    no_purchase_label: str = Field(DEFAULT_NO_PURCHASE, min_length=1,
                                   description="The label of entities without a qualifying transaction.")

    _as_text = field_validator("amount", "where", mode="before")(as_expression_text)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_as_text(cls, value):
        return {k: as_expression_text(v) for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("window")
    @classmethod
    def _window_is_a_duration(cls, value):
        return positive_duration(value, "365d, 26w or 12h")

    @property
    def window_seconds(self) -> int | None:
        return duration_seconds(self.window)
