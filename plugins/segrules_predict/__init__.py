"""Built-in plugin: predictive scores and behavioural clusters, trained point-in-time on the spec's
features and scored inside the database.

The ``models:`` section declares each model (kind, label, features, algorithm, training times);
``segrules train`` fits it with scikit-learn (the ``predict`` extra) on frames the engine computes
as of each training time and saves a versioned artifact; the rule functions ``score('m')`` and
``cluster('m')`` compile the artifact into the run's one query (no scikit-learn needed);
``segrules clusters`` profiles a clusters model. Documentation: docs/plugins/predict.md.
"""

from __future__ import annotations

from segrules.plugin import EntityFunctionDef, SpecSection, Validator, hookimpl

from .config import MODELS, Model, model_expressions


# The builders compile with Ibis: imported when a plan builds the values, not when the plugin loads.
def build_score(ctx):
    from .score import build_score
    return build_score(ctx)


def build_cluster(ctx):
    from .score import build_cluster
    return build_cluster(ctx)


def _check_score(config, entry, args):
    from .score import check_score
    return check_score(config, entry, args)


def _check_cluster(config, entry, args):
    from .score import check_cluster
    return check_cluster(config, entry, args)


def _entries(config):
    return list(config)


@hookimpl
def register_spec_sections():
    return [SpecSection(MODELS, dict[str, Model],
                        doc="Predictive models and clusters: score(), cluster(), segrules train.")]


@hookimpl
def register_entity_functions():
    return [
        EntityFunctionDef("score", MODELS, _entries, build_score, "float64", check=_check_score,
                          expressions=model_expressions,
                          doc="score('m'): a classifier's probability that its label is true (a regressor's "
                              "predicted value), from the model's features as of now."),
        EntityFunctionDef("cluster", MODELS, _entries, build_cluster, "int64", check=_check_cluster,
                          expressions=model_expressions,
                          doc="cluster('m'): the entity's cluster (0..k-1), the nearest standardised centroid."),
    ]


def check_models(ctx):
    """The models: section: no leakage (PRED101/102), its shape (PRED103-107), its artifacts (PRED2xx)."""
    if getattr(ctx.document.model, MODELS, None) is None:
        return []  # nothing to check: import nothing (an offline validate stays light)
    from .checks import all_diagnostics
    return all_diagnostics(ctx)


@hookimpl
def register_validators():
    return [Validator("models_section", check_models, doc=check_models.__doc__)]


@hookimpl
def register_commands():
    from .command import clusters_command, predict_demo_command, train_command
    return [train_command, clusters_command, predict_demo_command]
