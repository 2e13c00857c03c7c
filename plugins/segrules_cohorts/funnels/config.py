"""The ``funnels:`` spec section: named funnels, each a list of steps with a conversion window,
an optional look-back window, and the entity expressions to break conversion down by."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationInfo, field_validator

from segrules.plugin import as_expression_text, duration_seconds, positive_duration

SECTION = "funnels"

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Funnel(BaseModel):
    """One funnel: users who reach each step, in order, within ``convert`` of their first step."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    steps: list[str] = Field(min_length=2, description="Two or more steps, each `SOURCE [where CONDITION]` "
                             "over a source with a time column, e.g. events where name == 'signup'.")
    labels: list[str] | None = Field(None, description="A short name per step for reports (default: the "
                                     "step's text).")
    convert: str | None = Field(None, description="The whole funnel within this duration of the step-1 row "
                                "(e.g. 14d); none: no limit.")
    within: str | None = Field(None, description="Only rows in the last DURATION before now count, for every "
                               "step (e.g. 90d).")
    entry: Literal["any", "first"] = Field(
        "any", description="any: every step-1 row starts an attempt and the best one counts, as in "
        "sequence(); first: only the user's first step-1 row does.")
    breakdown: list[str] = Field(default_factory=list, description="Entity expressions to compare groups "
                                 "by, e.g. company_size or coalesce(utm_source, 'direct').")

    @field_validator("steps", "breakdown", mode="before")
    @classmethod
    def _as_text(cls, value):
        """``breakdown: [true]`` or ``[1]`` in YAML are expression text too."""
        return [as_expression_text(v) for v in value] if isinstance(value, list) else value

    @field_validator("convert", "within")
    @classmethod
    def _duration(cls, value):
        return positive_duration(value, "14d, 2w or 36h")

    @field_validator("labels")
    @classmethod
    def _labels_match_steps(cls, value, info: ValidationInfo):
        steps = info.data.get("steps")  # absent when the steps were wrong already
        if value is not None and steps is not None and len(value) != len(steps):
            raise ValueError(f"{len(value)} labels for {len(steps)} steps; give one per step")
        return value

    @property
    def convert_seconds(self) -> int | None:
        return duration_seconds(self.convert)

    @property
    def within_seconds(self) -> int | None:
        return duration_seconds(self.within)

    def label(self, i: int) -> str:
        """The name of step ``i`` (0-based) in reports."""
        return self.labels[i] if self.labels is not None else " ".join(self.steps[i].split())


class Funnels(RootModel[dict[str, Funnel]]):
    """``funnels:`` maps a name to a funnel; ``segrules funnel`` reports one, and the
    rule function ``funnel_step('NAME')`` is the furthest step an entity reached."""

    model_config = ConfigDict(frozen=True)

    @field_validator("root")
    @classmethod
    def _names(cls, value):
        for name in value:
            if not _NAME.fullmatch(name):
                raise ValueError(f"funnel name {name!r}: use letters, digits and _ (not starting with a digit)")
        return value

    def __getitem__(self, name: str) -> Funnel:
        return self.root[name]

    def __contains__(self, name: str) -> bool:
        return name in self.root

    def names(self) -> list[str]:
        return list(self.root)
