"""The test-file format as pydantic models (the JSON Schema and docs/testing.md follow it)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Union

from pydantic import Field

from ..spec.models import Identifier, ParamValue, _Strict

AsOf = Union[datetime, date]


class Expectation(_Strict):
    """What one entity's membership must be: member of every ``in``, of no ``not_in``."""

    in_: list[Identifier] = Field(default_factory=list, alias="in", description="Segments it must be in.")
    not_in: list[Identifier] = Field(default_factory=list, description="Segments it must not be in.")


class Case(_Strict):
    """One scenario: fixture rows, a point in time, and the expected membership by key."""

    name: str = Field(min_length=1)
    as_of: AsOf | None = Field(None, description="`now` of the case; defaults to the file's as_of.")
    params: dict[Identifier, ParamValue] = Field(default_factory=dict, description="Parameter overrides.")
    data: dict[str, list[dict[str, Any]]] = Field(
        default_factory=dict, description="Rows per table; columns missing from a row are null, tables "
        "missing from a case are empty.")
    expect: dict[Union[int, str], Expectation] = Field(min_length=1, description="Entity key -> expectation.")


class SpecTestModel(_Strict):
    """A ``<spec>.test.yaml`` file."""

    spec: str = Field(description="Path of the spec, relative to this file.")
    as_of: AsOf | None = Field(None, description="Default `now` for the cases.")
    params: dict[Identifier, ParamValue] = Field(default_factory=dict, description="Default overrides.")
    schema_: dict[str, dict[Identifier, str]] | None = Field(
        None, alias="schema", description="Column types (Ibis type names) that override the spec's "
        "schema: block and the types inferred from the rows.")
    cases: list[Case] = Field(min_length=1)
