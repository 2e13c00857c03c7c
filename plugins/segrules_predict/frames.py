"""Point-in-time frames: a model's features (and label) for every entity as of a time T, computed
by the engine itself (``NamespaceBuild.entity_values``: the spec's plan as of T, where every source
row after T is already gone). Training takes one frame per training time; scoring takes the frame
as of the run's now, inside the run's one query."""

from __future__ import annotations

from datetime import datetime

from .checks import feature_kind
from .config import MODELS, Model, feature_key, label_key, population_key

LABEL = "__label"
POPULATION = "__population"


def feature_kinds(checked, name: str, model: Model) -> dict[str, str]:
    """Column -> ``numeric`` | ``categorical`` (validate rejects other types: PRED105)."""
    out = {}
    for column, _, _ in model.feature_items():
        _, node = checked.source_expressions[(MODELS, feature_key(name, column))]
        out[column] = feature_kind(checked.types[id(node)]) or "numeric"
    return out


def frame(ctx, name: str, *, now: datetime | None = None, label: bool = False, population: bool = True):
    """An Ibis table: the entity key, one column per feature (numbers and true/false as float64,
    strings as strings), and with ``label`` the label (``LABEL``), as of ``now`` (default: the
    context's). With ``population`` and a model ``population:``, only its entities (training);
    else every entity and the column ``POPULATION`` (scoring leaves the others null)."""
    model: Model = ctx.config[name]
    kinds = feature_kinds(ctx.checked, name, model)
    columns = {column: feature_key(name, column) for column in kinds}
    if label:
        columns[LABEL] = label_key(name)
    if model.population is not None:
        columns[POPULATION] = population_key(name)
    table = ctx.entity_values(columns, now=now)
    out = {ctx.key: table[ctx.key]}
    for column, kind in kinds.items():
        value = table[column]
        if value.type().is_boolean():  # PostgreSQL casts a boolean to an integer, not to a double
            value = value.cast("int32")
        out[column] = value.cast("float64") if kind == "numeric" else value.cast("string")
    if label:
        out[LABEL] = table[LABEL]
    if model.population is None:
        return table.select(**out)
    if population:
        return table.filter(table[POPULATION]).select(**out)
    return table.select(**out, **{POPULATION: table[POPULATION]})
