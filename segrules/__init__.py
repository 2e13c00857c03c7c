"""segrules: declarative customer segmentation rules.

YAML specs of named segments, whose rules are written in a small expression language,
type-checked against the real table schemas, compiled to Ibis and run on DuckDB or any
Ibis backend.  See ``segrules.api`` for the Python API.

The public names are imported when first used (PEP 562): ``import segrules`` (and so the
command line's ``--version``) imports neither Ibis nor Arrow nor the checker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.1.0"

API = ("Spec", "load", "load_text", "default_registry", "parse_as_of")
ERRORS = ("SegrulesError", "SpecError", "ExprSyntaxError", "TypeCheckError", "CompileError", "PluginError",
          "BackendError", "SinkError")

__all__ = [*API, "connect", *ERRORS, "__version__"]

if TYPE_CHECKING:  # what the names are, for type checkers and editors
    from .api import Spec, default_registry, load, load_text, parse_as_of
    from .errors import (BackendError, CompileError, ExprSyntaxError, PluginError, SegrulesError, SinkError,
                         SpecError, TypeCheckError)
    from .run.connect import connect


def __getattr__(name: str):
    if name in API:
        from . import api
        value = getattr(api, name)
    elif name in ERRORS:
        from . import errors
        value = getattr(errors, name)
    elif name == "connect":
        from .run.connect import connect as value
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
