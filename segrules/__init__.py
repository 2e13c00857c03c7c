"""segrules: declarative customer segmentation rules.

YAML specs of named segments, whose rules are written in a small expression language,
type-checked against the real table schemas, compiled to Ibis and run on DuckDB or any
Ibis backend.  See ``segrules.api`` for the Python API.
"""

from .api import Spec, default_registry, load, load_text, parse_as_of
from .errors import (BackendError, CompileError, ExprSyntaxError, PluginError, SegrulesError, SinkError,
                     SpecError, TypeCheckError)
from .project import load_project
from .project.options import database as spec_database, selection as select_specs, spec_options
from .run import connect

__version__ = "0.1.0"

__all__ = ["Spec", "load", "load_text", "connect", "default_registry", "parse_as_of", "SegrulesError",
           "SpecError", "ExprSyntaxError", "TypeCheckError", "CompileError", "PluginError", "BackendError",
           "SinkError", "load_project", "select_specs", "spec_database", "spec_options", "__version__"]
