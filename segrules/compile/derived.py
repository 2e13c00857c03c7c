"""Derived output segments (``register_segment_outputs``): columns computed from the segments'
membership booleans, added on top of the plan's wide table, so they stay in its one query."""

from __future__ import annotations

from typing import TYPE_CHECKING, Collection

from ..errors import CompileError
from ..plugin.types import DerivedSegment

if TYPE_CHECKING:
    import ibis.expr.types as ir


def check_derived(derived: list[DerivedSegment], segments: Collection[str],
                  taken: Collection[str]) -> dict[str, DerivedSegment]:
    """By name; SR610 for an input that is not a segment, SR611 for a name derived twice or
    clashing with a feature or the key (``taken``)."""
    out: dict[str, DerivedSegment] = {}
    for d in derived:
        unknown = [i for i in d.inputs if i not in segments]
        if unknown:
            raise CompileError(f"output segment {d.name!r} is derived from unknown segment(s) "
                               f"{', '.join(unknown)}", code="SR610")
        if d.name in out or d.name in taken:
            raise CompileError(f"output segment {d.name!r} is derived twice, or clashes with a feature "
                               "or the entity key", code="SR611")
        out[d.name] = d
    return out


def raw_segments(names: list[str], derived: dict[str, DerivedSegment], segments: Collection[str]) -> list[str]:
    """The spec's own segments the plan must compute to output ``names``."""
    raw = [n for n in names if n in segments or n not in derived]
    raw += [i for n in names if n in derived for i in derived[n].inputs]
    return list(dict.fromkeys(raw))


def apply_derived(wide: ir.Table, key: str, names: list[str], raw: list[str],
                  derived: dict[str, DerivedSegment]) -> ir.Table:
    """``wide`` (key, the ``raw`` segments, features) with the output segments ``names``."""
    inputs = {n: wide[n] for n in raw}
    features = [c for c in wide.columns if c != key and c not in raw]
    columns = {key: wide[key]}
    for name in names:
        columns[name] = derived[name].combine(inputs).name(name) if name in derived else wide[name]
    columns.update({f: wide[f] for f in features})
    return wide.select(**columns)
