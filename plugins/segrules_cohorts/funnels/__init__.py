"""Built-in plugin: funnels. A ``funnels:`` section names funnels (steps in order, a conversion
window, breakdowns); ``segrules funnel`` reports one (users per step, conversion, the
biggest drop-off, times between steps, breakdowns with a chi-square test), and the rule function
``funnel_step('NAME')`` is the furthest step an entity reached. A funnel is a ``sequence()`` with
a report: the same step semantics. Documentation: docs/plugins/funnels.md.

Registered on its own entry point (``funnels``) and written against the public plugin API only.
"""

from __future__ import annotations

from segrules.plugin import EntityFunctionDef, PluginError, SpecSection, Validator, hookimpl

from .config import SECTION, Funnels
from .steps import funnel_diagnostics, funnel_expressions, section_diagnostics


def section_expressions(config: Funnels, model=None):
    """The step conditions and breakdowns of every funnel (``model``, the spec, is not needed)."""
    return [e for name in config.names() for e in funnel_expressions(name, config[name])]


def build_funnel_step(ctx):
    """``funnel_step('name')``: the furthest step of the funnel each entity reached, 0 when none."""
    problems = [d for d in funnel_diagnostics(ctx.checked.document, ctx.entry) if d.is_error]
    if problems:  # a broken funnel never runs (validate reports these with their positions)
        raise PluginError(diagnostics=problems)
    from .chains import furthest_step  # Ibis: imported when a plan builds the value
    return furthest_step(ctx, ctx.entry)


@hookimpl
def register_spec_sections():
    return [SpecSection(SECTION, Funnels, doc="Funnels: steps in order with a conversion window; "
                        "`segrules funnel` and funnel_step().")]


@hookimpl
def register_entity_functions():
    return [EntityFunctionDef(
        "funnel_step", SECTION, lambda config: config.names(), build_funnel_step, "int64",
        check=None, expressions=section_expressions,
        doc="funnel_step('name'): the furthest step of the funnel reached in order (0 when none).")]


def check_funnels_section(ctx):
    """Funnel steps are `SOURCE [where CONDITION]` over sources with a time column (FNL1xx)."""
    return section_diagnostics(ctx.document)


@hookimpl
def register_validators():
    return [Validator("funnels_section", check_funnels_section, doc=check_funnels_section.__doc__)]


@hookimpl
def register_commands():
    from .command import funnel_command
    return [funnel_command]
