"""Built-in destination ``segment``: audiences to Twilio Segment through the HTTP Tracking API
(``POST /v1/batch``), as identify traits or Audience Entered/Exited events (see
:mod:`segrules_tracking.client`, shared with ``rudderstack``)."""

from __future__ import annotations

from pydantic import Field

from segrules.plugin import DestinationDef, SyncContext, hookimpl

from .client import REPLAY, TrackingClient, TrackingOptions


class SegmentOptions(TrackingOptions):
    base_url: str = Field("https://api.segment.io", description="The Tracking API (EU workspaces: "
                          "https://events.eu1.segmentapis.com).")


def open_segment(options: SegmentOptions, context: SyncContext) -> TrackingClient:
    return TrackingClient("segment", options.base_url, options, context)


@hookimpl
def register_destinations():
    return [DestinationDef(
        "segment", SegmentOptions, open_segment, secrets=("write_key",), identifiers=("email", "external_id"),
        replay=REPLAY,
        doc="A Segment source: audience membership as identify traits or Audience Entered/Exited events.")]
