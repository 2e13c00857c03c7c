"""The spec format as pydantic v2 models: the single source of truth for validation and for
the JSON Schema that ``segrules schema`` prints."""

from __future__ import annotations

import functools
from datetime import date, datetime
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, field_validator, model_validator
from pydantic_core import PydanticCustomError

from .timezones import check_timezone

from .syncs import Destination, Sync

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Expression = Annotated[str, Field(description="An expression in the segrules language (docs/language.md).")]
ParamValue = Union[bool, int, float, datetime, date, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Entity(_Strict):
    """The universe: one row per entity (customer, account...)."""

    table: str = Field(description="Table with one row per entity.")
    key: Identifier = Field(description="Unique key column of the entity table.")
    time: Identifier | None = Field(
        None, description="Optional creation time; with it, entities created after `now` are left out.")


class Source(_Strict):
    """A related table of facts about the entity (orders, events...)."""

    table: str = Field(description="Table holding the source rows.")
    key: Identifier = Field(description="Column of this table that equals the entity key.")
    time: Identifier | None = Field(
        None, description="Event time column: rows after `now` are ignored; windows use it.")


class Segment(_Strict):
    """A named segment: the entities for which `where` is true."""

    where: Expression
    description: str | None = None
    owner: str | None = None
    tags: list[str] = Field(default_factory=list)
    min_days_in: int | None = Field(
        None, ge=0, description="With history (`run --snapshot`): a member whose rule stops matching stays a "
        "member until this many days after the first snapshot that found it not matching.")
    cooldown_days: int | None = Field(
        None, ge=0, description="With history: no re-entry within this many days of leaving.")


class IntendedOverlap(_Strict):
    """An overlap that exists by design, with the reason: ``segment`` within ``within`` (A ⊆ B),
    or ``segments`` that may overlap one another. ``segrules audit`` and ``mece`` show it as
    intended instead of a finding, and fail when a declared A ⊆ B does not hold on data."""

    segment: Identifier | None = Field(None, description="With `within`: every member of this segment is "
                                       "also in `within`.")
    within: Identifier | None = Field(None, description="The segment that contains `segment`.")
    segments: list[Identifier] | None = Field(None, min_length=2, description="Segments that may overlap "
                                              "one another (every pair of them).")
    reason: str = Field(min_length=1, description="Why the overlap is by design.")

    @model_validator(mode="after")
    def _one_form(self) -> "IntendedOverlap":
        subset = self.segment is not None or self.within is not None
        if subset == (self.segments is not None) or (subset and (self.segment is None or self.within is None)):
            raise PydanticCustomError("SR168", "{message}", {
                "message": "an intended overlap is either `segment:` with `within:` (A is contained in B) or "
                "`segments: [A, B, ...]` (they may overlap)", "hint": "with a reason: in both forms"})
        return self

    @property
    def names(self) -> list[str]:
        return [self.segment, self.within] if self.segments is None else list(self.segments)

    def covers(self, a: str, b: str) -> bool:
        """The declaration is about the pair (a, b), in either order."""
        if self.segments is None:
            return {a, b} == {self.segment, self.within}
        return a != b and a in self.segments and b in self.segments

    def describe(self) -> str:
        if self.segments is None:
            return f"{self.segment} ⊆ {self.within}"
        return " ∩ ".join(self.segments) + " may overlap"


class SpecModel(_Strict):
    """A segrules spec file."""

    version: Literal[1] = Field(description="Spec format version.")
    name: Identifier = Field(description="Name of the spec.")
    description: str | None = None
    timezone: str = Field(
        "UTC", description="IANA time zone (e.g. Europe/Berlin) of `now`, `today`, date_trunc and calendar "
        "windows; timestamps without a zone are read in it.")
    entity: Entity
    sources: dict[Identifier, Source] = Field(default_factory=dict)
    params: dict[Identifier, ParamValue] = Field(
        default_factory=dict, description="Named values used as `$name`; overridable with `--param`. A value "
        "written as a duration (`30d`, `12h`, `90min`) is a duration: `within $name`, `convert $name`, `now - $name`.")
    features: dict[Identifier, Expression] = Field(
        default_factory=dict, description="Named, reusable computed traits, used by bare name.")
    segments: dict[Identifier, Segment]
    destinations: dict[Identifier, Destination] = Field(
        default_factory=dict, description="Where audiences are synced to (docs/sync.md).")
    syncs: dict[Identifier, Sync] = Field(
        default_factory=dict, description="Which segment goes to which destination (`segrules sync`).")
    overlaps: list[IntendedOverlap] = Field(
        default_factory=list, description="Overlaps between segments that exist by design (A within B, or A and "
        "B may overlap), with the reason: audit and mece report them as intended, not as findings.")
    schema_: dict[str, dict[Identifier, str]] | None = Field(
        None,
        alias="schema",
        description="Optional table schemas (column: Ibis type such as int64, string, timestamp) so "
        "specs validate and compile offline, without a database.",
    )

    def intended(self, a: str, b: str) -> IntendedOverlap | None:
        """The declared intended overlap of segments ``a`` and ``b`` (either order), or None."""
        return next((o for o in self.overlaps if o.covers(a, b)), None)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        problem = check_timezone(value)
        if problem:
            raise PydanticCustomError("SR130", "{message}", {"message": problem[0], "hint": problem[1]})
        return value


def spec_model(sections: dict[str, Any] | None = None) -> type[SpecModel]:
    """The spec model extended with plugin-provided top-level sections (name -> pydantic model)."""
    if not sections:
        return SpecModel
    return _extended(tuple(sections.items()))


@functools.lru_cache(maxsize=32)
def _extended(sections: tuple[tuple[str, Any], ...]) -> type[SpecModel]:
    """Built once per set of sections: pydantic takes ~10 ms to build a model, every load paid it."""
    fields = {name: (model | None, None) for name, model in sections}
    return create_model("SpecModel", __base__=SpecModel, **fields)
