"""Built-in plugin: RFM (recency, frequency, monetary) scores and labelled value segments.

An ``rfm:`` section in the spec switches on the ``rfm.*`` values for rules (``rfm.label ==
'Champions'``, ``rfm.m >= 4``), computed in the database with Ibis; ``segrules rfm`` reports them.
Documentation: docs/plugins/rfm.md.
"""

from __future__ import annotations

from segrules.plugin import NamespaceDef, SourceExpression, SpecSection, Validator, ValueField, hookimpl

from .checks import SECTION, label_values, section_diagnostics
from .config import RfmConfig


def rfm_fields(config: RfmConfig) -> list[ValueField]:
    bins = float(config.bins)

    def score(name, what):
        return ValueField(name, "int64", f"{what} score 1..{config.bins} (higher is better); null without "
                          "purchases", minimum=1, maximum=bins)

    return [
        ValueField("recency_days", "int64", "whole days since the last qualifying transaction; null "
                   "without one", minimum=0),
        ValueField("frequency", "int64", "number of qualifying transactions (0 without)", minimum=0,
                   nullable=False),
        ValueField("monetary", "float64", "sum of amount over the qualifying transactions (0 without)",
                   nullable=False),
        score("r", "recency"), score("f", "frequency"), score("m", "monetary"),
        ValueField("score", "string", "r, f and m as digits, e.g. '545'; null without purchases"),
        ValueField("label", "string", "the RFM segment, or no_purchase_label",
                   values=label_values(config), nullable=False),
    ]


def rfm_expressions(config: RfmConfig) -> list[SourceExpression]:
    out = [SourceExpression("amount", config.source, config.amount, (SECTION, "amount"),
                            (SECTION, "source"), expect="numeric")]
    if config.where:
        out.append(SourceExpression("where", config.source, config.where, (SECTION, "where"),
                                    (SECTION, "source"), expect="boolean"))
    return out


@hookimpl
def register_spec_sections():
    return [SpecSection(SECTION, RfmConfig, doc="RFM scores and labels: switches on the rfm.* values.")]


def build_rfm(ctx):
    from .build import build_rfm  # Ibis: imported when a plan builds the values, not when the plugin loads
    return build_rfm(ctx)


@hookimpl
def register_namespaces():
    return [NamespaceDef("rfm", SECTION, rfm_fields, build_rfm, rfm_expressions,
                         doc="rfm.recency_days, frequency, monetary, r, f, m, score, label per entity.")]


def check_rfm_section(ctx):
    """The rfm: section: source time column, thresholds, and a MECE label map (RFM1xx)."""
    return section_diagnostics(ctx.document, ctx.checked)


@hookimpl
def register_validators():
    return [Validator("rfm_section", check_rfm_section, doc=check_rfm_section.__doc__)]


@hookimpl
def register_commands():
    from .command import rfm_command
    return [rfm_command]
