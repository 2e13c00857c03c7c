"""``score('m')`` and ``cluster('m')``: the trained model compiled into the run's one query.

The artifact's portable model (no scikit-learn needed) becomes an Ibis expression over the model's
features as of the run's now (``scoring.to_ibis``): logistic regression a linear form, trees nested
CASE expressions, ensembles their sums, k-means the nearest standardised centroid.
"""

from __future__ import annotations

import segrules

from . import artifacts
from .config import Kind
from .frames import POPULATION, frame


def current_artifact(ctx, name: str) -> dict:
    """The newest artifact of model ``name``, refused when missing or trained on a different spec."""
    checked = ctx.checked
    doc = checked.document
    path = artifacts.latest_path(doc.path, checked.model.name, name)
    if path is None:
        raise segrules.PluginError(f"model {name!r} is not trained (no artifact in "
                                   f"{artifacts.shown(artifacts.model_folder(doc.path, checked.model.name, name))}): "
                                   f"run segrules train {doc.path} --model {name} --db URL")
    artifact = artifacts.load(path)
    if artifact.get("spec_hash") != artifacts.spec_hash(checked, name):
        raise segrules.PluginError(f"model {name!r}: {artifacts.shown(path)} was trained on a different spec: retrain it "
                                   f"(segrules train {doc.path} --model {name} --db URL)")
    return artifact


def _build(ctx, output: str):
    from .scoring import to_ibis

    name = ctx.entry
    artifact = current_artifact(ctx, name)
    table = frame(ctx, name, population=False)
    columns = {f["name"]: table[f["name"]] for f in artifact["features"]}
    value = to_ibis(artifact["model"], columns, output)
    if POPULATION in table.columns:  # outside the model's population: no score
        value = table[POPULATION].ifelse(value, None)
    return table.select(ctx.key, value=value)


def build_score(ctx):
    return _build(ctx, "score" if ctx.config[ctx.entry].kind is Kind.classifier else "value")


def build_cluster(ctx):
    return _build(ctx, "cluster")


def check_score(config, entry: str, args) -> str | None:
    if config[entry].kind is Kind.clusters:
        return f"{entry} is a clusters model: use cluster('{entry}')"
    return None


def check_cluster(config, entry: str, args) -> str | None:
    if config[entry].kind is not Kind.clusters:
        return f"{entry} is a {config[entry].kind.value}: use score('{entry}')"
    return None
