"""The public plugin API: everything a plugin imports from segrules, besides the top-level
``segrules`` API (``segrules.load``, ``segrules.connect``, ``Spec``...).

A plugin imports ``segrules`` and ``segrules.plugin`` only (``tests/test_plugin_api.py`` holds the
built-in plugins to that); every name here is listed with a line of description in the reference
section of docs/plugins.md.  The groups:

* hooks and definitions: ``hookimpl`` and the values the ``register_*`` hooks return;
* types: the language's types (``DataType``, ``Schema``, ``parse_type``), what type rules see and
  return and what a checked spec holds, and ``to_ibis``/``to_ibis_schema`` for compile code;
* diagnostics and errors: what validators return and commands raise or print;
* expressions: the language's AST and the helpers that read a checked spec;
* spec sections: field helpers for a section's pydantic model, and YAML with positions;
* commands: consoles, exit codes, the spec selection options every command takes;
* run and IO: parameters, queries, connections, files;
* the HTTP destination toolkit: retries, rate limits, batches;
* hashing for ad platforms: email/phone normalisation and SHA-256 per vendor.

The definitions load with this module (they are small dataclasses); every other name is imported
on first use (PEP 562), so that loading a plugin does not load Ibis, httpx or the parser at
start-up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# -- hooks and definitions (loaded with the module) ---------------------------------------
from .destinations import (BatchRejected, BatchResult, DestinationClient, DestinationDef, Limits, RetryBudgetSpent, Row,
                           SyncContext)
from .files import atomic_write
from .categories import TYPE_CATEGORIES
from .functions import CallContext, CallInfo, FunctionDef, Problem
from .hookspecs import hookimpl
from .streams import StreamConsumer, StreamContext, StreamRecord, StreamSourceDef
from .registry import Registry, build_registry
from ..types import DataType, Schema, parse_type
from .types import (DerivedSegment, EntityFunctionDef, NamespaceDef, PluginInfo, SegmentOutputDef, SinkDef, SinkResult,
                    SourceExpression, SpecSection, ValidationContext, Validator, ValueField)

if TYPE_CHECKING:  # the names below are imported on first use (see __getattr__)
    from ..check import CheckedSpec, parse_expressions
    from ..console import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, EXIT_OK, make_console, user_errors
    from ..project.options import (CommandSpec, command_specs, db_option, legacy_name, note, spec_options,
                                   warn_renamed)
    from ..project.resolve import require_one
    from ..check.entity_values import EntityValue
    from ..check.schema import did_you_mean
    from ..check.typecheck import EntityColumn, FeatureRef, NamespaceValue, SourceColumn
    from ..compile.namespaces import NamespaceBuild
    from ..compile.datatypes import to_ibis, to_ibis_schema
    from ..diagnostics import Diagnostic, Severity, Span, exit_code, render
    from ..errors import ExprSyntaxError, PluginError, SegrulesError, SinkError, SpecError
    from ..formats import FORMATS, format_github, format_json, format_junit
    from ..lang import SourceMap, ast, parse_expr, unparse
    from ..lang.lexicon import duration_param
    from ..params import parse_params
    from ..run.connect import redact
    from ..run.execute import run_query
    from ..run.transaction import transaction
    from ..spec.sections import as_expression_text, duration_seconds, positive_duration
    from ..spec.yamlpos import load_yaml
    from ..builtin import int_constant
    from ..sync.batching import iter_chunks
    from ..sync.budget import RetryBudget
    from ..sync.secrets import Scrubber, secret_forms
    from .tables import write_duckdb_tables
    from ..sync.hashing import VENDORS as HASHING_VENDORS
    from ..sync.hashing import hash_email, hash_phone, normalize_email, normalize_phone, sha256_hex
    from ..sync.http import HttpClient, HttpDestination, HttpOptions, Vendor, ratelimit_reset, retry_after

_LAZY: dict[str, tuple[str, ...]] = {
    # diagnostics and errors
    "segrules.diagnostics": ("Diagnostic", "Severity", "Span", "render", "exit_code"),
    "segrules.errors": ("SegrulesError", "SpecError", "ExprSyntaxError", "PluginError", "SinkError"),
    "segrules.check.schema": ("did_you_mean",),
    "segrules.formats": ("FORMATS", "format_github", "format_json", "format_junit"),
    # expressions
    "segrules.lang": ("ast", "parse_expr", "unparse", "SourceMap"),
    "segrules.lang.lexicon": ("duration_param",),
    "segrules.builtin": ("int_constant",),
    "segrules.check": ("CheckedSpec", "parse_expressions"),
    "segrules.check.typecheck": ("EntityColumn", "FeatureRef", "SourceColumn", "NamespaceValue"),
    "segrules.check.entity_values": ("EntityValue",),
    "segrules.compile.namespaces": ("NamespaceBuild",),
    # types (Ibis's, for compile code: loads Ibis)
    "segrules.compile.datatypes": ("to_ibis", "to_ibis_schema"),
    # spec sections
    "segrules.spec.sections": ("as_expression_text", "positive_duration", "duration_seconds"),
    "segrules.spec.yamlpos": ("load_yaml",),
    # commands
    "segrules.console": ("make_console", "user_errors", "EXIT_OK", "EXIT_CHECK_FAILED", "EXIT_BAD_INPUT"),
    "segrules.project.options": ("spec_options", "db_option", "command_specs", "CommandSpec", "note",
                                 "warn_renamed", "legacy_name"),
    "segrules.project.resolve": ("require_one",),
    # run and IO
    "segrules.params": ("parse_params",),
    "segrules.run.execute": ("run_query",),
    "segrules.run.connect": ("redact",),
    "segrules.run.transaction": ("transaction",),
    "segrules.plugin.tables": ("write_duckdb_tables",),
    # the HTTP destination toolkit
    "segrules.sync.http": ("HttpClient", "HttpDestination", "HttpOptions", "Vendor", "retry_after",
                           "ratelimit_reset"),
    "segrules.sync.batching": ("iter_chunks",),
    "segrules.sync.budget": ("RetryBudget",),
    "segrules.sync.secrets": ("Scrubber", "secret_forms"),
    "segrules.sync.hashing": ("normalize_email", "normalize_phone", "hash_email", "hash_phone", "sha256_hex"),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}
_RENAMED = {"HASHING_VENDORS": ("segrules.sync.hashing", "VENDORS")}

__all__ = [
    # hooks and definitions
    "hookimpl", "FunctionDef", "TYPE_CATEGORIES", "CallInfo", "Problem", "CallContext", "EntityFunctionDef", "NamespaceDef", "ValueField",
    "SourceExpression", "NamespaceBuild", "SpecSection", "Validator", "ValidationContext", "SegmentOutputDef",
    "DerivedSegment", "SinkDef", "SinkResult", "DestinationDef", "DestinationClient", "Limits", "Row",
    "BatchResult", "BatchRejected", "RetryBudgetSpent", "SyncContext",
    "StreamSourceDef", "StreamRecord", "StreamContext", "StreamConsumer", "Registry", "build_registry", "PluginInfo",
    # types
    "DataType", "Schema", "parse_type", "to_ibis", "to_ibis_schema",
    # diagnostics and errors
    "Diagnostic", "Severity", "Span", "render", "exit_code", "did_you_mean", "FORMATS", "format_github",
    "format_json", "format_junit", "SegrulesError", "SpecError", "ExprSyntaxError", "PluginError", "SinkError",
    # expressions
    "ast", "parse_expr", "unparse", "SourceMap", "duration_param", "int_constant", "CheckedSpec",
    "parse_expressions", "EntityColumn", "FeatureRef", "SourceColumn", "NamespaceValue", "EntityValue",
    # spec sections
    "as_expression_text", "positive_duration", "duration_seconds", "load_yaml",
    # commands
    "make_console", "user_errors", "EXIT_OK", "EXIT_CHECK_FAILED", "EXIT_BAD_INPUT", "spec_options", "db_option",
    "command_specs", "CommandSpec", "require_one", "note", "warn_renamed", "legacy_name",
    # run and IO
    "parse_params", "run_query", "redact", "transaction", "atomic_write", "write_duckdb_tables",
    # the HTTP destination toolkit
    "HttpClient", "HttpDestination", "HttpOptions", "Vendor", "retry_after", "ratelimit_reset", "iter_chunks",
    "RetryBudget", "Scrubber", "secret_forms",
    # hashing for ad platforms
    "HASHING_VENDORS", "normalize_email", "normalize_phone", "hash_email", "hash_phone", "sha256_hex",
]


def __getattr__(name: str) -> Any:
    """Import a lazily exported name on first use and keep it in the module."""
    module, attr = _RENAMED.get(name) or (_MODULE_OF.get(name), name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
