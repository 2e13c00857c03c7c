"""Built-in plugin: taxonomies of segments that must be mutually exclusive and/or collectively
exhaustive (MECE), proved from the rules by ``segrules validate`` (z3, no data needed), measured
on data by ``segrules mece``, enforced in the output by ``resolve: priority``, and audited by
``segrules audit``.  Walk-through: docs/plugins/mece.md.
"""

from __future__ import annotations

from segrules.plugin import SegmentOutputDef, SpecSection, Validator, hookimpl

from .resolve import derive_priority
from .section import Assumption, Taxonomy
from .validate import check_taxonomies


@hookimpl
def register_spec_sections():
    return [SpecSection("taxonomies", dict[str, Taxonomy], doc="Groups of segments with MECE properties."),
            SpecSection("assume", dict[str, Assumption],
                        doc="Facts about columns (minimum, maximum, values, not_null) the MECE prover uses.")]


@hookimpl
def register_validators():
    return [Validator("taxonomies", check_taxonomies, doc=check_taxonomies.__doc__)]


@hookimpl
def register_segment_outputs():
    return [SegmentOutputDef("taxonomy_priority", "taxonomies", derive_priority,
                             doc="resolve: priority keeps an entity in the first listed segment; else gets the rest.")]


@hookimpl
def register_commands():
    from .audit import audit_command
    from .ondata import mece_command
    return [mece_command, audit_command]
