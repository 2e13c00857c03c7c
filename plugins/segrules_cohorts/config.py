"""The ``cohorts:`` and ``experiments:`` spec sections (pydantic models) and the expressions they
hand to segrules to parse and type-check with the spec (positions point into the section)."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from segrules.plugin import SourceExpression, as_expression_text, ast, duration_seconds, positive_duration, unparse

COHORTS, EXPERIMENTS = "cohorts", "experiments"
_ACTIVITY = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:(where)(\s.*))?\s*", re.S)


class Grain(str, Enum):
    day = "day"
    week = "week"
    month = "month"


class Retention(str, Enum):
    classic = "classic"  # active in period k
    rolling = "rolling"  # active in period k or later


class Cohort(BaseModel):
    """One cohort definition: entities grouped by the calendar period of their ``start``, and
    whether they were active in each later period."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: str = Field(description="When an entity joins: an entity time column (signup_at) or an "
                                   "expression per entity such as first(orders.ordered_at).")
    grain: Grain = Field(Grain.week, description="day, week (Monday to Sunday) or month, calendar-aligned "
                                                 "in the spec's time zone.")
    activity: str = Field(description="What counts as active: a source with a time column, optionally "
                                      "filtered: orders where status == 'paid'.")
    periods: int = Field(8, ge=1, le=400, description="Periods after the start period (columns 0..periods).")
    retention: Retention = Field(Retention.classic, description="classic: active in period k; rolling: "
                                                                "active in period k or later.")

    _as_text = field_validator("start", "activity", mode="before")(as_expression_text)

    @field_validator("activity")
    @classmethod
    def _activity_shape(cls, value):
        if not _ACTIVITY.fullmatch(value):
            raise ValueError("must be a source, optionally followed by where and a condition: "
                             "orders where status == 'paid'")
        return value

    @property
    def source(self) -> str:
        return _ACTIVITY.fullmatch(self.activity).group(1)

    @property
    def where(self) -> str | None:
        """The condition after ``where``, padded with spaces where the source name was, so the
        parser's offsets are offsets into the YAML value."""
        m = _ACTIVITY.fullmatch(self.activity)
        return " " * m.start(3) + m.group(3) if m.group(2) else None


class Split(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    salt: str = Field(min_length=1, description="The salt of bucket(): a new salt gives a new split.")
    groups: dict[str, int] = Field(description="Variant -> weight (whole numbers, e.g. 50/50 or 90/10).")
    control: str | None = Field(None, description="The baseline variant (default: 'control' if there is "
                                                  "one, else the first).")

    @field_validator("groups")
    @classmethod
    def _weights(cls, value):
        if len(value) < 2:
            raise ValueError("needs at least two groups")
        if any(w <= 0 for w in value.values()):
            raise ValueError("weights must be positive whole numbers")
        if sum(value.values()) > 1_000_000:
            raise ValueError("the weights must add up to at most 1,000,000")
        return value

    @property
    def baseline(self) -> str:
        if self.control is not None:
            return self.control
        return "control" if "control" in self.groups else next(iter(self.groups))


class Experiment(BaseModel):
    """An experiment: the population split into variants by a salted hash of the entity key,
    compared on a metric measured from ``start`` to now."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    population: str = Field("true", description="Who takes part (as of start): a rule, e.g. "
                                                "segment('active_users').")
    split: Split
    metric: str = Field(description="A value per entity over the rows since start: numeric (compared by "
                                    "mean) or boolean (compared as a proportion).")
    start: date | datetime = Field(description="When the experiment started (wall-clock, spec time zone).")
    pre_period: str | None = Field(None, description="A duration (28d): measure the metric before start "
                                                     "too, for a difference-in-differences estimate.")

    _as_text = field_validator("population", "metric", mode="before")(as_expression_text)

    @field_validator("pre_period")
    @classmethod
    def _duration(cls, value):
        return positive_duration(value, "28d or 4w")

    @property
    def start_time(self) -> datetime:
        s = self.start
        return s if isinstance(s, datetime) else datetime(s.year, s.month, s.day)

    @property
    def pre_seconds(self) -> int | None:
        return duration_seconds(self.pre_period)


def cohort_expressions(config: dict[str, Cohort], model=None) -> list[SourceExpression]:
    out = []
    for name, c in config.items():
        out.append(SourceExpression(f"{name}.start", None, c.start, (COHORTS, name, "start"), expect="temporal"))
        if c.where is not None:
            out.append(SourceExpression(f"{name}.where", c.source, c.where, (COHORTS, name, "activity"),
                                        (COHORTS, name, "activity"), expect="boolean"))
    return out


def bucket_text(key: str, split: Split) -> str:
    """``bucket(key, 'salt', total weight)``: the built-in salted hash the split reads."""
    total = sum(split.groups.values())
    return unparse(ast.Call("bucket", (ast.Name(key), ast.String(split.salt), ast.Number(total))))


def experiment_expressions(config: dict[str, Experiment], model) -> list[SourceExpression]:
    """Population, metric, and the split's ``bucket(key, salt, total weight)`` per experiment."""
    out = []
    for name, e in config.items():
        path = (EXPERIMENTS, name)
        out += [SourceExpression(f"{name}.population", None, e.population, path + ("population",),
                                 expect="boolean"),
                SourceExpression(f"{name}.metric", None, e.metric, path + ("metric",)),
                SourceExpression(f"{name}.bucket", None, bucket_text(model.entity.key, e.split),
                                 path + ("split", "salt"))]
    return out
