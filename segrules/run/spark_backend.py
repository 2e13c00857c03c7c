"""Ibis's PySpark backend as segrules needs it: in-memory tables uploaded as Arrow, temporary
tables, and deleting rows from a file table.

* Ibis 12 hands ``ibis.memtable`` data to Spark as a pandas frame; with pandas 3 a missing string
  becomes the text ``'NaN'`` and a column of integers with a gap loses its values (pandas makes it
  float, Spark reads it back as nulls). segrules uploads audiences, history rows and sync state that
  way, so the rows go as Arrow (PySpark 4 reads an Arrow table directly) in Ibis's schema.
* Ibis has no temporary tables on Spark. A history snapshot and a sync's diff compute a result once
  and read it several times while they write to the tables it was computed from, so a view (which
  Spark recomputes on each read) is not enough: a temporary table here is the result computed once
  and kept by Spark (``localCheckpoint``: its lineage is cut, later writes to the source tables do
  not change it) under a temporary view of the session, gone when the session ends.
* A process has one SparkSession, shared by every connection to it: closing a connection stops
  the session only if that connection started it (a notebook's or the test run's session, which
  segrules joined, keeps running).
* Spark's default (parquet) tables have no ``DELETE``: :meth:`SparkBackend.delete_in` rewrites the
  table without the rows (the kept rows computed once, then ``INSERT OVERWRITE``). Not atomic the
  way a database's ``DELETE`` is: the state store deletes only rows no reader sees (those of runs
  that never committed), and only when there are some.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import sqlglot as sg
from ibis.backends.pyspark import Backend
from ibis.backends.pyspark.datatypes import PySparkSchema

from .spark_sql import compiler as spark_compiler


class SparkBackend(Backend):
    compiler = spark_compiler  # Ibis's, plus the bitwise aggregates (segrules/run/spark_sql.py)

    owned = True  # whether disconnecting stops the session (the connection started it)

    @classmethod
    def from_session(cls, session, owned: bool = True) -> "SparkBackend":
        ibis.pyspark  # noqa: B018 -- loading the backend through Ibis registers ibis.options.pyspark
        con = cls().connect(session)
        con.owned = owned
        return con

    def disconnect(self) -> None:
        if self.owned:
            super().disconnect()

    def _register_in_memory_table(self, op) -> None:
        schema = op.schema
        data = op.data.to_pyarrow(schema)
        df = self._session.createDataFrame(data, schema=PySparkSchema.from_ibis(schema))
        df.createOrReplaceTempView(op.name)

    def _dataframe(self, expr: ir.Table):
        """The Spark DataFrame of an Ibis table expression (its in-memory tables registered)."""
        self._run_pre_execute_hooks(expr)
        return self._session.sql(self.compile(expr))

    def _is_temp_view(self, name: str) -> bool:
        return any(t.name == name and t.isTemporary for t in self._session.catalog.listTables())

    def create_table(self, name: str, /, obj=None, *, schema=None, database=None, temp=None,
                     overwrite: bool = False, **kwargs) -> ir.Table:
        if not temp:
            return super().create_table(name, obj, schema=schema, database=database, overwrite=overwrite, **kwargs)
        if database is not None:
            raise ValueError("a temporary table on Spark belongs to the session, not to a database")
        if not overwrite and self._is_temp_view(name):
            raise ValueError(f"temporary table {name} already exists")
        if obj is None:
            obj = ibis.memtable(ibis.schema(schema).to_pyarrow().empty_table())
        table = obj if isinstance(obj, ir.Expr) else ibis.memtable(obj)
        # computed now and kept: reading it later never re-reads (changed) source tables
        self._dataframe(table).localCheckpoint(eager=True).createOrReplaceTempView(name)
        return self.table(name)

    def drop_table(self, name: str, /, *, database=None, force: bool = False) -> None:
        if database is None and self._is_temp_view(name):
            self._session.catalog.dropTempView(name)
            return
        super().drop_table(name, database=database, force=force)

    def delete_in(self, name: str, column: str, values: list, database: str | None = None) -> None:
        """Delete the rows of table ``name`` whose ``column`` is one of ``values`` (Ibis literals)."""
        table = self.table(name, database=database)
        doomed = table[column].isin(values)
        if not self.execute(table.filter(doomed).count()):
            return
        kept = self._dataframe(table.filter(~doomed)).localCheckpoint(eager=True)
        target = sg.table(name, db=database, quoted=True).sql(self.dialect)
        kept.write.insertInto(target, overwrite=True)
