"""Salted buckets: ``bucket(x, 'salt', n)``, reproducible outside the database.

``int(md5(salt + ':' + string(x)).hexdigest()[:8], 16) % n`` where string() of an integer is its
decimal digits, of a string the string itself and of a UUID its lowercase hyphenated form, the
same in Python (``hashlib``) and on every backend (the database's ``md5`` on UTF-8 text).
"""

from __future__ import annotations

from ..check.types import describe
from .. import types as st
from ..lang import ast as a
from .base import FunctionDef, CallInfo, Problem, arity, constant_int, run_constant


def _salt(node: a.Node, params) -> str | None:
    if isinstance(node, a.String):
        return node.value
    if isinstance(node, a.Param) and isinstance(params.get(node.name), str):
        return params[node.name]
    return None


def _check(info: CallInfo):
    problem = arity(info, 3)
    if problem:
        return problem
    t = info.types[0]
    if not (t.is_integer() or t.is_string() or t.is_uuid() or t.is_null()):
        return Problem("SR426", f"bucket() hashes integers, strings or UUIDs, got {describe(t)}", info.args[0],
                       "bucket the entity key or another id column, e.g. bucket(customer_id, 'holdout', 10)")
    if _salt(info.args[1], info.params) is None:
        return Problem("SR427", "bucket(): the salt must be a string literal or a string parameter",
                       info.args[1], "e.g. bucket(customer_id, 'spring_campaign', 10)")
    n = constant_int(info, 2, "the number of buckets")
    return n if isinstance(n, Problem) else st.int64


def _compile(ctx, args, nodes):
    import ibis.expr.datatypes as dt

    from ..compile.backends import hex_to_int, md5_hex  # the compile stage imports this package

    key = args[0]
    text = key if key.type().is_string() else key.cast(dt.string)
    salt = _salt(nodes[1], ctx.params)
    digest = md5_hex()(ctx.lit(salt + ":", dt.string) + text)
    return hex_to_int(ctx.dialect, digest, 8) % run_constant("bucket", nodes[2], ctx.params)


FUNCTIONS = (
    FunctionDef("bucket", compile=_compile, rule=_check, context=True, null_in_null_out=True,
                signature="bucket(x: integer, string or uuid, salt: string constant, n: integer constant) → int64",
                doc="a stable bucket 0…n−1 of x, salted"),
)
