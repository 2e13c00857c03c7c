"""A witness: the data set a concrete model describes, in the user's terms and as rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import z3

from segrules.plugin import DataType, parse_type, unparse

from .smt import EPOCH

WITNESS_KEY = 1


@dataclass
class Witness:
    """``now``: the evaluation time; ``entity``: the entity row (only the columns the rules use,
    plus the key); ``rows``: source -> its rows for this entity; ``features``, ``aggregates`` and
    ``values`` (plugin namespace values) as the rules see them.  ``insertable``: False when it
    rests on plugin values, which data rows cannot set directly."""

    now: datetime
    entity: dict[str, Any]
    rows: dict[str, list[dict[str, Any]]]
    features: dict[str, Any] = field(default_factory=dict)
    aggregates: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    insertable: bool = True
    entity_table: str = "entity"
    key: str = "id"

    def describe(self) -> str:
        """``a customers row with signup_at = now - 31d, count(orders within 90d) = 0``."""
        facts = [f"{k} {_show(v, self.now)}" for k, v in self.entity.items() if k != self.key]
        facts += [f"{k} {_show(v, self.now)}" for k, v in self.features.items()]
        facts += [f"{k} {_show(v, self.now)}" for k, v in self.aggregates.items()]
        facts += [f"{k} {_show(v, self.now)}" for k, v in self.values.items()]
        return f"a {self.entity_table} row" + (" with " + ", ".join(facts) if facts else "")

    def to_dict(self) -> dict:
        return {"now": self.now.isoformat(), "description": self.describe(), "entity": self.entity,
                "rows": self.rows, "features": self.features, "aggregates": self.aggregates,
                "values": self.values, "insertable": self.insertable}


def _show(value, now: datetime) -> str:
    if value is None:
        return "is null"
    if isinstance(value, datetime):
        return "= " + _relative(value - now, "now")
    if isinstance(value, date):
        return "= " + _relative(timedelta(days=(value - now.date()).days), "today")
    if isinstance(value, str):
        return "= '" + value.replace("'", "\\'") + "'"
    if isinstance(value, bool):
        return "= " + ("true" if value else "false")
    return f"= {value}"


def _relative(delta: timedelta, base: str) -> str:
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return base
    sign = "+" if seconds > 0 else "-"
    seconds = abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return f"{base} {sign} {' '.join(parts)}"


def _fraction(term) -> Fraction:
    if z3.is_int_value(term):
        return Fraction(term.as_long())
    return Fraction(term.as_fraction())


def python_value(term, dtype: DataType):
    """A z3 model value as the Python value of a column of type ``dtype``."""
    if dtype.is_boolean():
        return z3.is_true(term)
    if dtype.is_string():
        return term.as_string()
    number = _fraction(term)
    if dtype.is_integer():
        return int(number)
    if dtype.is_decimal():
        scale = dtype.scale or 0
        return (Decimal(number.numerator) / Decimal(number.denominator)).quantize(Decimal(1).scaleb(-scale))
    if dtype.is_floating():
        return float(number)
    if dtype.is_timestamp():
        return EPOCH + timedelta(seconds=int(number))
    if dtype.is_date():
        return EPOCH.date() + timedelta(days=int(number))
    raise TypeError(f"no Python value for {dtype}")


def _value(model, x, dtype):
    if z3.is_true(model.eval(x.null, model_completion=True)):
        return None
    return python_value(model.eval(x.v, model_completion=True), dtype)


def extract_witness(env, model, segments) -> Witness:
    checked, m = env.checked, env.model
    now = EPOCH + timedelta(seconds=int(_fraction(model.eval(env.now, model_completion=True))))
    entity_schema = checked.schemas[m.entity.table]
    entity = {m.entity.key: WITNESS_KEY}
    for column, x in sorted(env.columns.items()):
        entity[column] = _value(model, x, entity_schema[column])
    rows = {}
    for source, source_rows in env.rows.items():
        schema = checked.schemas[m.sources[source].table]
        present = [r for r in source_rows if z3.is_true(model.eval(r.present, model_completion=True))]
        if not any(r.columns for r in source_rows):
            continue
        rows[source] = [{m.sources[source].key: WITNESS_KEY,
                         **{c: _value(model, x, schema[c]) for c, x in sorted(r.columns.items())}}
                        for r in present]
    features = {name: _value(model, x, checked.feature_types[name]) for name, x in env.features.items()
                if name in checked.feature_types}
    named = {checked.features[name] for name in env.features}  # shown by the feature's name
    aggregates = {unparse(node): _value(model, x, checked.type_of(node)) for node, x in env.aggregates.items()
                  if node not in named}
    values = {f"{ns}.{f}": _value(model, x, parse_type(checked.namespaces[ns][2][f].dtype))
              for (ns, f), x in env.values.items()}
    return Witness(now, entity, rows, features, aggregates, values, insertable=not values,
                   entity_table=m.entity.table, key=m.entity.key)


def witness_tables(witness: Witness, checked) -> dict:
    """The witness as PyArrow tables, one per table of the spec (columns the rules do not use
    are null), ready to insert into a scratch database and evaluate ``as_of=witness.now``."""
    import pyarrow as pa

    from segrules.plugin import to_ibis_schema  # loads Ibis: the prover without data needs none

    m = checked.model
    rows_by_table = {m.entity.table: [witness.entity]}
    for name, src in m.sources.items():
        rows_by_table.setdefault(src.table, []).extend(witness.rows.get(name, []))
    out = {}
    for table, schema in checked.schemas.items():
        arrow = to_ibis_schema(schema).to_pyarrow()
        rows = rows_by_table.get(table, [])
        out[table] = pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in arrow},
                              schema=arrow)
    return out
