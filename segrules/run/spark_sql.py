"""Spark SQL as segrules needs it: Ibis's PySpark compiler plus the bitwise aggregates Spark has
(``bit_or``, ``bit_and``, ``bit_xor``) and Ibis 12 does not map (the cohorts plugin's retention
bitmasks use ``bit_or``). Used by the Spark backend and by ``compile --dialect spark``; no pyspark
import."""

from __future__ import annotations

import ibis.expr.operations as ops
from ibis.backends.sql.compilers.pyspark import PySparkCompiler


class SparkCompiler(PySparkCompiler):
    SIMPLE_OPS = {**PySparkCompiler.SIMPLE_OPS, ops.BitOr: "bit_or", ops.BitAnd: "bit_and", ops.BitXor: "bit_xor"}


compiler = SparkCompiler()


def to_sql(expr) -> str:
    """The Spark SQL of an Ibis expression (as ``ibis.to_sql(expr, dialect="pyspark")`` writes it)."""
    return ";\n".join(q.sql(dialect=compiler.dialect, pretty=True) for q in _queries(compiler.to_sqlglot(expr.unbind())))


def _queries(out):
    return out if isinstance(out, list) else [out]
