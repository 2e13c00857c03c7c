"""``${ENV_VAR}`` in project and profile values, read when a target is used.

``${NAME}`` is the variable's value and an error when it is not set; ``${NAME:-default}`` falls
back to ``default`` when the variable is unset or empty (as in a POSIX shell); ``$$`` is a literal
``$``. Nothing else is expanded: a ``$`` not followed by ``{`` or ``$`` stays as written."""

from __future__ import annotations

import os
import re
from typing import Mapping

from ..diagnostics import Span
from ..errors import SpecError

_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?")


def interpolate(value: str, span: Span | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``value`` with its ``${...}`` references replaced; SR162 for an unset variable or a
    malformed reference, at ``span`` (the value in the file)."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match) -> str:
        text = match.group(0)
        if text == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name is None:
            raise SpecError(f"{text!r} is not a variable reference (write ${{NAME}} or ${{NAME:-default}})",
                            span=span, code="SR162")
        found = env.get(name)
        if found or (found is not None and default is None):  # ${NAME:-x}: unset or empty -> x
            return found
        if default is not None:
            return default
        raise SpecError(f"environment variable {name} is not set (used in {value!r})", span=span, code="SR162",
                        hint=f"export {name}=..., or write ${{{name}:-default}}")

    return _REFERENCE.sub(replace, value)
