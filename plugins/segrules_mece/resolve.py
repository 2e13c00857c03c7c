"""``resolve: priority`` (and ``else``): the output segments of a taxonomy made exclusive, and
exhaustive with ``else``, computed from the segments' own rules in the spec's one query."""

from __future__ import annotations

from functools import reduce

from segrules.plugin import DerivedSegment


def _any(columns):
    return reduce(lambda x, y: x | y, columns)


def _first_of(segment: str, before: list[str]):
    def combine(raw):
        return raw[segment] & ~_any([raw[b] for b in before]) if before else raw[segment]
    return combine


def _none_of(segments: list[str]):
    def combine(raw):
        return ~_any([raw[s] for s in segments])
    return combine


def derive_priority(config, model) -> list[DerivedSegment]:
    """Each segment of a ``resolve: priority`` taxonomy keeps only the entities not in a segment
    listed before it; ``else`` gets the entities in none."""
    out = []
    for name, tax in config.items():
        if tax.resolve != "priority" or not tax.segments:
            continue
        segments = list(dict.fromkeys(tax.segments))
        for i, segment in enumerate(segments):
            out.append(DerivedSegment(segment, tuple(segments[: i + 1]), _first_of(segment, segments[:i]),
                                      doc=f"{segment}, unless in an earlier segment of taxonomy {name}"))
        if tax.else_:
            out.append(DerivedSegment(tax.else_, tuple(segments), _none_of(segments),
                                      doc=f"in none of the segments of taxonomy {name}"))
    return out
