# mypy: disable-error-code="empty-body"
# (a hook specification has a signature and a docstring, never a body)
"""The plugin contract. Every hook a plugin may implement, typed and documented.

All ``register_*`` hooks take no arguments and return a list; segrules concatenates the lists
of every plugin and rejects two plugins that register the same name, naming both.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:  # click is imported by the command line, not by the hook specifications
    import click

from .destinations import DestinationDef
from .streams import StreamSourceDef
from .types import EntityFunctionDef, FunctionDef, NamespaceDef, SegmentOutputDef, SinkDef, SpecSection, Validator

PROJECT = "segrules"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def register_functions() -> list[FunctionDef]:
    """Scalar functions for the expression language. Names must not clash with built-ins."""


@hookspec
def register_spec_sections() -> list[SpecSection]:
    """Extra top-level spec sections, each validated by its pydantic model."""


@hookspec
def register_namespaces() -> list[NamespaceDef]:
    """Per-entity values computed by the plugin (``rfm.label``, ``rfm.r``), used in rules as
    ``namespace.field`` and joined into the spec's one query plan when a rule uses them.
    A namespace must not have the name of a source of the spec that activates it."""


@hookspec
def register_entity_functions() -> list[EntityFunctionDef]:
    """Rule functions whose per-entity value the plugin computes from an entry of its spec
    section (``cohort('signup_week')``, ``variant('template_feature')``): the first argument names
    the entry, the others are constants. Each call a rule makes is built as a table keyed by the
    entity and joined into the spec's one query plan. Names share the space of functions."""


@hookspec
def register_segment_outputs() -> list[SegmentOutputDef]:
    """Output segment columns derived from the segments' membership in the one query plan
    (``resolve: priority`` keeps an entity in the first of overlapping segments only; an
    ``else`` segment collects the rest)."""


@hookspec
def register_validators() -> list[Validator]:
    """Checks that ``segrules validate`` runs after the core checks. A validator that raises
    becomes an SR601 diagnostic naming the plugin."""


@hookspec
def register_sinks() -> list[SinkDef]:
    """File sinks for ``segrules run --out``: where a one-off membership is written."""


@hookspec
def register_destinations() -> list[DestinationDef]:
    """Destination types for ``destinations:`` and ``segrules sync`` (webhook, table, klaviyo...):
    each with its options model and a client that delivers batches of adds, removes and updates."""


@hookspec
def register_stream_sources() -> list[StreamSourceDef]:
    """Stream consumers for ``segrules serve --stream NAME`` (Kafka, Kinesis, queues): each feeds
    the service's ingest path, with the offsets stored in the same transaction as the rows."""


@hookspec
def register_commands() -> list[click.Command]:
    """Extra CLI sub-commands: a list of ``click.Command`` objects added to ``segrules``."""
