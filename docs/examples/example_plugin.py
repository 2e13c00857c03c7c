"""An example segrules plugin, complete and tested (tests/test_docs.py imports and runs it).

It shows every hook of ``segrules.plugin.hookspecs``:

* ``register_functions``     a scalar function ``domain(email)`` for the expression language;
* ``register_spec_sections`` top-level ``exports:`` and ``spend:`` sections (pydantic models);
* ``register_namespaces``    per-customer values ``spend.total`` and ``spend.band`` for rules;
* ``register_segment_outputs`` ``exports: {suppress: ...}`` removes a segment's members from the audiences;
* ``register_validators``    a check that ``exports:`` names segments that exist;
* ``register_sinks``         a JSON-lines sink, picked by ``segrules run --out members.jsonl``;
* ``register_commands``      a ``segrules export`` command writing every audience under ``exports:``.

Install it like any plugin, by naming the module in your package's ``pyproject.toml``::

    [project.entry-points.segrules]
    example = "example_plugin"

Walk-through: docs/plugins.md.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import click
from pydantic import BaseModel, ConfigDict, Field

import segrules
from segrules.plugin import (DerivedSegment, Diagnostic, FunctionDef, NamespaceDef, SegmentOutputDef, Severity,
                             SinkDef, SinkError, SinkResult, SourceExpression, SpecSection, Validator, ValueField,
                             command_specs, db_option, hookimpl, make_console, spec_options, user_errors)


# --- a function: domain(email) ------------------------------------------------------------------
def _compile_domain(email):
    """``email`` is the compiled Ibis expression of the argument; return an Ibis expression."""
    domain = email.lower().re_extract(r"@([^@]+)$", 1)
    return domain.nullif("")  # no '@' in the value: null, not ''


@hookimpl
def register_functions():
    return [
        FunctionDef(
            name="domain",
            args=("string",),
            returns="string",
            compile=_compile_domain,
            doc="domain(email): the lower-cased part after the last '@', or null.",
        ),
    ]


# --- a spec section: exports: -------------------------------------------------------------------
class Export(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    segment: str = Field(description="A segment of this spec.")
    to: str = Field(description="Where to write its members, e.g. audiences/vip.jsonl.")


class Exports(BaseModel):
    """``exports:`` lists the audiences that ``segrules export`` writes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audiences: list[Export] = Field(default_factory=list)
    suppress: str | None = Field(None, description="A segment whose members are left out of the audiences.")


class Spend(BaseModel):
    """``spend:`` switches on the ``spend.*`` values: money spent per customer in ``source``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str = Field(description="A source of the spec, e.g. orders.")
    amount: str = Field(description="An expression over the source's rows, e.g. amount.")
    high: float = Field(100, description="spend.band is 'high' from this total on.")


@hookimpl
def register_spec_sections():
    return [SpecSection("exports", Exports, doc="Audiences written by `segrules export`."),
            SpecSection("spend", Spend, doc="Switches on the spend.* values.")]


# --- a namespace: spend.total, spend.band ---------------------------------------------------------
def _spend_fields(config: Spend) -> list[ValueField]:
    return [ValueField("total", "float64", "money spent, 0 without orders", minimum=0, nullable=False),
            ValueField("band", "string", "'high' or 'low'", values=("high", "low"), nullable=False)]


def _spend_expressions(config: Spend) -> list[SourceExpression]:
    # segrules parses and type-checks this text with the spec; errors point into spend.amount.
    return [SourceExpression("amount", config.source, config.amount, ("spend", "amount"),
                             source_path=("spend", "source"), expect="numeric")]


def _build_spend(ctx):
    """One row per customer: the entity key and a column per field, computed with Ibis."""
    rows = ctx.source(ctx.config.source)  # the source's rows at or before `now` (--as-of)
    per_key = rows.group_by(k=rows[ctx.source_key(ctx.config.source)]).aggregate(
        total=ctx.expression("amount", rows).sum())
    entity = ctx.entity
    joined = entity.left_join(per_key, entity[ctx.key] == per_key.k)
    total = joined.total.cast("float64").fill_null(0)
    return joined.select(ctx.key, total=total, band=(total >= ctx.config.high).ifelse("high", "low"))


@hookimpl
def register_namespaces():
    return [NamespaceDef("spend", "spend", _spend_fields, _build_spend, _spend_expressions,
                         doc="spend.total and spend.band per customer.")]



# --- segment outputs: exports.suppress ---------------------------------------------------------
def _suppressed(segment: str, suppress: str):
    def combine(raw):
        """``raw``: input segment name -> its Ibis boolean column; return an Ibis boolean."""
        return raw[segment] & ~raw[suppress]
    return combine


def derive_suppressed(exports: Exports, model) -> list[DerivedSegment]:
    """Each exported segment, minus the members of ``exports.suppress`` (e.g. unsubscribed)."""
    if exports.suppress is None:
        return []
    names = dict.fromkeys(a.segment for a in exports.audiences if a.segment != exports.suppress)
    return [DerivedSegment(name, (name, exports.suppress), _suppressed(name, exports.suppress))
            for name in names]


@hookimpl
def register_segment_outputs():
    return [SegmentOutputDef("suppress", "exports", derive_suppressed,
                             doc="Leave the members of exports.suppress out of the exported segments.")]


# --- a validator ----------------------------------------------------------------------------------
def check_exports(ctx):
    """Every audience names a segment of the spec, and a sink can write its target."""
    model = ctx.document.model
    exports = getattr(model, "exports", None)
    if exports is None:
        return []
    diags = []
    for i, audience in enumerate(exports.audiences):
        path = ("exports", "audiences", i)
        if audience.segment not in model.segments:
            diags.append(Diagnostic(
                "EXP101", f"exports: unknown segment {audience.segment!r}",
                ctx.document.index.value_span(path + ("segment",)),
                hint="segments: " + ", ".join(model.segments), source="example"))
        if not audience.to.endswith((".jsonl", ".parquet", ".csv")):
            diags.append(Diagnostic(
                "EXP102", f"exports: {audience.to!r} is not a .jsonl, .parquet or .csv file",
                ctx.document.index.value_span(path + ("to",)), severity=Severity.WARNING,
                source="example"))
    return diags


@hookimpl
def register_validators():
    return [Validator("exports_refer_to_segments", check_exports, doc=check_exports.__doc__)]


# --- a sink: JSON lines ---------------------------------------------------------------------------
def write_jsonl(table, target: str, options: dict) -> SinkResult:
    """Write a PyArrow table as one JSON object per line, all or nothing."""
    path = Path(target)
    if not path.parent.is_dir():
        raise SinkError(f"cannot write {target}: directory {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in table.to_pylist():
                fh.write(json.dumps(row, default=str) + "\n")
        os.replace(tmp, path)  # a failed run leaves an earlier file intact
    except OSError as exc:
        raise SinkError(f"cannot write {target}: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return SinkResult(rows=table.num_rows, target=str(path))


@hookimpl
def register_sinks():
    return [SinkDef("jsonl", write_jsonl, suffixes=(".jsonl",), doc="JSON lines, written atomically.")]


# --- a command: segrules export -------------------------------------------------------------------
def export_audiences(spec, con, *, as_of=None) -> list[SinkResult]:
    """Evaluate ``spec`` once and write each audience under ``exports:`` with the sink for its target."""
    exports = spec.section("exports")
    if exports is None or not exports.audiences:
        return []
    names = list(dict.fromkeys(a.segment for a in exports.audiences))
    wide = spec.evaluate(con, as_of=as_of, segments=names, features=False).to_pyarrow()
    results = []
    for audience in exports.audiences:
        sink, target = spec.registry.sink_for(audience.to)
        if sink is None:
            raise SinkError(f"no sink writes {audience.to}")
        members = wide.filter(wide[audience.segment]).select([spec.key])
        results.append(sink.write(members, target, {}))
    return results


def has_exports(spec) -> str | None:
    """Why ``segrules export`` skips ``spec``, or None."""
    return None if spec.section("exports") is not None else "no exports: section"


@click.command("export")
@spec_options()  # [SPECS]... (none: the project's), --select, --project, --target, as every command
@db_option
@click.option("--as-of", "as_of", metavar="TIME", help="Evaluate as of this date/time.")
def export_command(specs, select, project, target, db, as_of):
    """Write every audience listed under exports: to its target. SPECS: files, folders or globs;
    none: the project's specs that have an exports: section."""
    console = make_console()  # full width off a terminal, no colour there
    with user_errors():  # a SegrulesError: diagnostics on stderr, exit 2
        for work in command_specs("export", specs, select, project, target, db, as_of, needs=has_exports,
                                  registry=segrules.default_registry()):
            con = segrules.connect(work.db, read_only=True)
            for result in export_audiences(work.spec, con, as_of=work.as_of):
                console.print(f"wrote {result.rows} members to {result.target}")


@hookimpl
def register_commands():
    return [export_command]
