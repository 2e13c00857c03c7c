"""segrules: declarative customer segmentation rules.

YAML specs of named segments, whose rules are written in a small expression language,
type-checked against the real table schemas, compiled to Ibis and run on DuckDB or any
Ibis backend.  See ``segrules.api`` for the Python API.

The public names are imported when first used (PEP 562): ``import segrules`` (and so the
command line's ``--version``) imports neither Ibis nor Arrow nor the checker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

__version__ = "0.1.0"

LAZY = {
    "Spec": ".api", "load": ".api", "load_text": ".api", "default_registry": ".api", "parse_as_of": ".api",
    "connect": ".run.connect",
    "SegrulesError": ".errors", "SpecError": ".errors", "ExprSyntaxError": ".errors", "TypeCheckError": ".errors",
    "CompileError": ".errors", "PluginError": ".errors", "BackendError": ".errors", "SinkError": ".errors",
    "load_project": ".project", "select_specs": ".project.options", "spec_database": ".project.options",
    "spec_options": ".project.options",
}

__all__ = [*LAZY, "__version__"]

if TYPE_CHECKING:  # what the names are, for type checkers and editors
    from .api import Spec, default_registry, load, load_text, parse_as_of
    from .errors import (BackendError, CompileError, ExprSyntaxError, PluginError, SegrulesError, SinkError,
                         SpecError, TypeCheckError)
    from .project import load_project
    from .project.options import select_specs, spec_database, spec_options
    from .run.connect import connect


__getattr__ = lazy_exports(__name__, globals(), LAZY)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
