"""String functions: ``lower``, ``upper``, ``trim``, ``length``, ``contains``, ``starts_with``,
``ends_with`` and ``matches`` (an RE2 search)."""

from __future__ import annotations

from typing import Any

import re2

from ..lang import ast as a
from .. import types as st
from ..types import DataType
from .base import CallInfo, FunctionDef, Problem
from ..plugin.functions import args_problem

_RE2_QUIET = re2.Options()
_RE2_QUIET.log_errors = False  # the reason is reported as a diagnostic, not logged to stderr


def re2_problem(pattern: str) -> str | None:
    """Why RE2 rejects ``pattern`` (e.g. lookarounds, backreferences), or None when it compiles.
    RE2 is DuckDB's engine and the common subset of the warehouses' regex dialects."""
    try:
        re2.compile(pattern, _RE2_QUIET)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        return reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
    return None


def _check_matches(info: CallInfo) -> DataType | Problem:
    problem = args_problem(("string", "string"), info)
    if problem is not None:
        return problem
    pattern = info.args[1]
    if isinstance(pattern, a.String):
        reason = re2_problem(pattern.value)
        if reason:
            return info.problem(f"invalid regular expression for RE2 (the syntax DuckDB runs): {reason}")
    return st.boolean


def _length(ctx: Any, args: list[Any], nodes: list[a.Node]) -> Any:
    import ibis.expr.datatypes as dt  # the compile stage has it loaded; checking does not need it

    return args[0].length().cast(dt.int64)


def _string(name: str, args: tuple[str, ...], returns: str, compile_: Any, signature: str, doc: str) -> FunctionDef:
    return FunctionDef(name, args, returns, compile_, doc, context=True, null_in_null_out=True, signature=signature)


FUNCTIONS = (
    _string("lower", ("string",), "string", lambda ctx, args, nodes: args[0].lower(),
            "lower(s: string) → string", "s in lower case"),
    _string("upper", ("string",), "string", lambda ctx, args, nodes: args[0].upper(),
            "upper(s: string) → string", "s in upper case"),
    _string("trim", ("string",), "string", lambda ctx, args, nodes: args[0].strip(),
            "trim(s: string) → string", "s without leading and trailing whitespace"),
    _string("length", ("string",), "int64", _length,
            "length(s: string) → int64", "the number of characters of s"),
    _string("contains", ("string", "string"), "boolean", lambda ctx, args, nodes: args[0].contains(args[1]),
            "contains(s: string, part: string) → boolean", "whether part occurs in s"),
    _string("starts_with", ("string", "string"), "boolean", lambda ctx, args, nodes: args[0].startswith(args[1]),
            "starts_with(s: string, prefix: string) → boolean", "whether s begins with prefix"),
    _string("ends_with", ("string", "string"), "boolean", lambda ctx, args, nodes: args[0].endswith(args[1]),
            "ends_with(s: string, suffix: string) → boolean", "whether s ends with suffix"),
    FunctionDef("matches", compile=lambda ctx, args, nodes: args[0].re_search(args[1]),
                doc="whether the RE2 regular expression pattern matches somewhere in s", rule=_check_matches,
                context=True, null_in_null_out=True, signature="matches(s: string, pattern: string) → boolean"),
)
