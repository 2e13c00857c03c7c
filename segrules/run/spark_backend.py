"""Ibis's PySpark backend with in-memory tables uploaded as Arrow.

Ibis 12 hands ``ibis.memtable`` data to Spark as a pandas frame; with pandas 3 a missing string
becomes the text ``'NaN'`` and a column of integers with a gap loses its values (pandas makes it
float, Spark reads it back as nulls). segrules uploads audiences, history rows and sync state that
way, so the rows go as Arrow (PySpark 4 reads an Arrow table directly) in Ibis's schema."""

from __future__ import annotations

from ibis.backends.pyspark import Backend
from ibis.backends.pyspark.datatypes import PySparkSchema

from .spark_sql import compiler as spark_compiler


class SparkBackend(Backend):
    compiler = spark_compiler  # Ibis's, plus the bitwise aggregates (segrules/run/spark_sql.py)

    @classmethod
    def from_session(cls, session) -> "SparkBackend":
        import ibis

        ibis.pyspark  # noqa: B018 -- loading the backend through Ibis registers ibis.options.pyspark
        return cls().connect(session)

    def _register_in_memory_table(self, op) -> None:
        schema = op.schema
        data = op.data.to_pyarrow(schema)
        df = self._session.createDataFrame(data, schema=PySparkSchema.from_ibis(schema))
        df.createOrReplaceTempView(op.name)
