"""``--param NAME=VALUE`` options as a dict: the one parser the CLI and plugin commands share.

A module of its own below the CLI, so that plugin commands (through :mod:`segrules.plugin`) and
every command group parse parameters the same way without importing the CLI.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import SpecError


def parse_params(values: Iterable[str]) -> dict[str, str]:
    """``("min=3", "tier=gold")`` -> ``{"min": "3", "tier": "gold"}``: the name is stripped, the
    value kept as written (the spec's ``params:`` types convert it).  SR110 for an item without
    ``=``; a later item replaces an earlier one of the same name."""
    params: dict[str, str] = {}
    for item in values:
        if "=" not in item:
            raise SpecError(f"--param {item!r}: expected NAME=VALUE", code="SR110")
        name, value = item.split("=", 1)
        params[name.strip()] = value
    return params
