"""``NAME=VALUE`` parameter overrides as given on a command line (``--param``), for the CLI and
for plugin commands. The values stay text: :meth:`segrules.Spec.params` coerces each to the type
the spec declares."""

from __future__ import annotations

from typing import Iterable

from .errors import SpecError


def parse_params(values: Iterable[str]) -> dict[str, str]:
    """``("days=30", "tier=gold")`` -> ``{"days": "30", "tier": "gold"}``; SR110 for an item
    without ``=``."""
    params = {}
    for item in values:
        if "=" not in item:
            raise SpecError(f"--param {item!r}: expected NAME=VALUE", code="SR110")
        name, value = item.split("=", 1)
        params[name.strip()] = value
    return params
