"""Built-in destination ``rudderstack``: the same tracking contract as ``segment`` at a RudderStack
data plane (``data_plane_url``), with the same client (:mod:`segrules_tracking.client`)."""

from __future__ import annotations

from pydantic import Field

from segrules.plugin import DestinationDef, SyncContext, hookimpl

from .client import REPLAY, TrackingClient, TrackingOptions


class RudderStackOptions(TrackingOptions):
    data_plane_url: str = Field(description="The data plane, e.g. https://yourcompany.dataplane.rudderstack.com.")


def open_rudderstack(options: RudderStackOptions, context: SyncContext) -> TrackingClient:
    return TrackingClient("rudderstack", options.data_plane_url, options, context)


@hookimpl
def register_destinations():
    return [DestinationDef(
        "rudderstack", RudderStackOptions, open_rudderstack, secrets=("write_key",),
        identifiers=("email", "external_id"), replay=REPLAY,
        doc="A RudderStack source (data plane): audience membership as identify traits or Audience "
        "Entered/Exited events.")]
