"""``${ENV_VAR}`` in project and profile values, read when a target is used.

``${NAME}`` is the variable's value and an error when it is not set; ``${NAME:-default}`` falls
back to ``default`` when the variable is unset or empty (as in a POSIX shell); ``$$`` is a literal
``$``. Nothing else is expanded: a ``$`` not followed by ``{`` or ``$`` stays as written.

dbt's spelling works too (profiles copied from dbt keep working): ``{{ env_var('NAME') }}`` is the
variable's value and an error when it is not set, ``{{ env_var('NAME', 'default') }}`` the default
when it is unset (dbt's rule: a variable set to the empty string is the empty string). Any other
``{{ ... }}`` is an error: there is no template language behind it."""

from __future__ import annotations

import os
import re
from typing import Mapping

from ..diagnostics import Span
from ..errors import SpecError

_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\{[^}]*\}?"
                        r"|\{\{\s*env_var\(\s*(['\"])([A-Za-z_][A-Za-z0-9_]*)\3\s*"
                        r"(?:,\s*(['\"])((?:(?!\5).)*)\5\s*)?\)\s*\}\}|\{\{.*?(?:\}\}|$)")


def interpolate(value: str, span: Span | None = None, environ: Mapping[str, str] | None = None) -> str:
    """``value`` with its ``${...}`` references replaced; SR162 for an unset variable or a
    malformed reference, at ``span`` (the value in the file)."""
    env = os.environ if environ is None else environ

    def replace(match: re.Match) -> str:
        text = match.group(0)
        if text == "$$":
            return "$"
        if text.startswith("{{"):
            return _env_var(match, value, span, env)
        name, default = match.group(1), match.group(2)
        if name is None:
            raise SpecError(f"{text!r} is not a variable reference (write ${{NAME}} or ${{NAME:-default}})",
                            span=span, code="SR162")
        found = env.get(name)
        if found or (found is not None and default is None):  # ${NAME:-x}: unset or empty -> x
            return found
        if default is not None:
            return default
        raise SpecError(f"environment variable {name} is not set (used in {_shown(value)!r})", span=span, code="SR162",
                        hint=f"export {name}=..., or write ${{{name}:-default}}")

    return _REFERENCE.sub(replace, value)


def _env_var(match: re.Match, value: str, span: Span | None, env: Mapping[str, str]) -> str:
    """``{{ env_var('NAME') }}`` / ``{{ env_var('NAME', 'default') }}`` (dbt's rule for defaults)."""
    name, default = match.group(4), match.group(6)
    if name is None:
        raise SpecError(f"{match.group(0)!r}: the one template form is {{{{ env_var('NAME') }}}} or "
                        f"{{{{ env_var('NAME', 'default') }}}}", span=span, code="SR162")
    found = env.get(name)
    if found is not None:
        return found
    if default is not None:
        return default
    raise SpecError(f"environment variable {name} is not set (used in {_shown(value)!r})", span=span, code="SR162",
                    hint=f"export {name}=..., or write {{{{ env_var('{name}', 'default') }}}}")


def _shown(value: str) -> str:
    """The value as an error message shows it: a URL's password masked (it may be a literal)."""
    from ..run.targets import describe
    return describe(value) if "://" in value else value
