"""The ``destinations:`` and ``syncs:`` sections: where audiences go, and which audience goes where.

A destination's own options (``list_id``, ``url``, ``api_key``...) are validated later against the
options model its plugin registers (``register_destinations``); here only ``type`` is required.
Secrets are written ``${ENV_VAR}`` and read from the environment when a sync runs.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Identifier = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
Share = Annotated[str, StringConstraints(pattern=r"^\s*\d+(\.\d+)?\s*%\s*$")]

SYNC_MODES = ("mirror", "add_only", "upsert")
IDENTIFIER_KINDS = ("email", "phone", "external_id")


class Destination(BaseModel):
    """A configured destination: ``type`` picks the plugin; every other key is an option of it."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: Identifier = Field(description="Destination type registered by a plugin (webhook, table, klaviyo...).")

    @property
    def options(self) -> dict:
        return dict(self.model_extra or {})


class Sync(BaseModel):
    """Keep a destination's audience equal to (or a superset of) one segment's members."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    segment: Identifier = Field(description="The segment whose members form the audience.")
    destination: Identifier = Field(description="A key of `destinations:`.")
    identify_by: Identifier = Field(description="Column or feature holding the identifier sent to the vendor.")
    identifier: Literal["email", "phone", "external_id"] | None = Field(
        None, description="What the identifier is (checked before sending); default: email if the "
        "identify_by name contains 'email', phone if it contains 'phone', else external_id.")
    fields: dict[str, Identifier] = Field(
        default_factory=dict, description="Destination field <- column or feature.")
    mode: Literal["mirror", "add_only", "upsert"] = Field(
        "mirror", description="mirror: add, remove and update; add_only: never remove; "
        "upsert: update attributes of members, no list membership.")
    max_removals: Union[Annotated[int, Field(ge=0)], Share, None] = Field(
        None, description="Refuse the run (exit 1, nothing sent) when more would be removed: a count "
        "or a share of the acknowledged audience such as `10%`.")

    dead_after: Annotated[int, Field(ge=1)] | None = Field(
        3, description="Park a row the destination refused this many runs in a row (its same change is not "
        "sent again until `segrules sync --retry-dead`; `segrules sync-log --dead` lists them); null: never.")

    @property
    def identifier_kind(self) -> str:
        if self.identifier:
            return self.identifier
        name = self.identify_by.lower()
        return "email" if "email" in name else "phone" if "phone" in name else "external_id"

    def removal_limit(self, acknowledged: int) -> int | None:
        """The most removals allowed for an acknowledged audience of ``acknowledged`` rows."""
        if self.max_removals is None:
            return None
        if isinstance(self.max_removals, int):
            return self.max_removals
        share = float(self.max_removals.strip().rstrip("%").strip())
        return int(acknowledged * share / 100)
