"""The names of the functions the language defines itself, which a plugin function may not take.

Listed here, apart from the table that defines the functions (``builtin.FUNCTIONS``), because the plugin registry needs the names before anything is type
checked and those tables import Ibis; a test checks that the list is exactly the tables' names."""

from __future__ import annotations

from .ast import AGGREGATE_FUNCS, SEQUENCE_FUNCS

BUILTIN_FUNCTIONS = (
    "abs", "coalesce", "contains", "date_trunc", "days_since", "ends_with", "greatest", "hours_since", "least",
    "length", "lower", "matches", "round", "start_of_day", "start_of_month", "start_of_quarter", "start_of_week",
    "start_of_year", "starts_with", "trim", "upper",
    "add_months", "bucket", "days_between", "hours_between", "ntile", "percent_rank", "top_n",
)

RESERVED_FUNCTIONS = BUILTIN_FUNCTIONS + AGGREGATE_FUNCS + SEQUENCE_FUNCS + ("segment", "date", "timestamp")
