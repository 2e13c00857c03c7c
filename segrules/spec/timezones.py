"""IANA time zone names for the spec's ``timezone:`` key."""

from __future__ import annotations

import difflib
import functools
import zoneinfo


@functools.lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    """The IANA names ``timezone:`` accepts (the JSON Schema enumerates them)."""
    return frozenset(zoneinfo.available_timezones())


_known = known_timezones


def check_timezone(name: str) -> tuple[str, str | None] | None:
    """None when ``name`` is a known IANA zone, else (message, hint)."""
    if name in _known():
        return None
    close = difflib.get_close_matches(name, sorted(_known()), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "use an IANA name such as UTC, Europe/Berlin, America/New_York"
    return f"unknown time zone {name!r}", hint
