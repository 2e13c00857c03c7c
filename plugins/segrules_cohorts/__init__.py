"""Built-in plugin: acquisition cohorts and their retention, and experiments (treatment vs control).

``cohorts:`` and ``experiments:`` sections switch on the rule functions ``cohort('name')`` (the
period label), ``retained('name', k)`` and ``variant('name')``, computed in the database with Ibis;
``segrules cohort`` and ``segrules experiment`` report them. Documentation: docs/plugins/cohorts.md.
"""

from __future__ import annotations

from segrules.plugin import EntityFunctionDef, SpecSection, Validator, hookimpl

from .checks import cohort_diagnostics, experiment_diagnostics
from .config import COHORTS, EXPERIMENTS, Cohort, Experiment, cohort_expressions, experiment_expressions


# The builders compile with Ibis: imported when a plan builds the values, not when the plugin loads.
def build_cohort(ctx):
    from .retention import build_cohort
    return build_cohort(ctx)


def build_retained(ctx):
    from .retention import build_retained
    return build_retained(ctx)


def build_variant(ctx):
    from .experiments import build_variant
    return build_variant(ctx)


def _entries(config):
    return list(config)


def _period_in_range(config, entry, args):
    (k,) = args
    periods = config[entry].periods
    if not 0 <= k <= periods:
        return f"period {k} is outside 0..{periods}, the periods of {entry}"
    return None


@hookimpl
def register_spec_sections():
    return [SpecSection(COHORTS, dict[str, Cohort], doc="Acquisition cohorts and retention: cohort(), retained()."),
            SpecSection(EXPERIMENTS, dict[str, Experiment], doc="Experiments: variant() and segrules experiment.")]


@hookimpl
def register_entity_functions():
    return [
        EntityFunctionDef("cohort", COHORTS, _entries, build_cohort, "string", expressions=cohort_expressions,
                          doc="cohort('name'): the label of the entity's start period (2025-W10, 2025-03, "
                              "2025-03-03); null without a start."),
        EntityFunctionDef("retained", COHORTS, _entries, build_retained, "boolean", args=("integer",),
                          check=_period_in_range, expressions=cohort_expressions,
                          doc="retained('name', k): active in period k after the start period (rolling: in k "
                              "or later); null without a start or until period k has ended."),
        EntityFunctionDef("variant", EXPERIMENTS, _entries, build_variant, "string",
                          expressions=experiment_expressions,
                          doc="variant('name'): the entity's group in the experiment; null outside its population."),
    ]


def check_cohorts_section(ctx):
    """The cohorts: section: the activity source has a time column (COH101)."""
    return cohort_diagnostics(ctx.document, ctx.checked)


def check_experiments_section(ctx):
    """The experiments: section: the control is a group, the metric a number or true/false (COH102/103)."""
    return experiment_diagnostics(ctx.document, ctx.checked)


@hookimpl
def register_validators():
    return [Validator("cohorts_section", check_cohorts_section, doc=check_cohorts_section.__doc__),
            Validator("experiments_section", check_experiments_section, doc=check_experiments_section.__doc__)]


@hookimpl
def register_commands():
    from .command import cohort_command, cohort_demo_command, experiment_command
    return [cohort_command, experiment_command, cohort_demo_command]
