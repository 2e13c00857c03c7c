"""The audiences of a run: ONE query over the spec's plan gives every member of every synced
segment with the identifier and field values; per sync, Ibis expressions then normalise and check
identifiers and hash the synced fields (all in the database, no Python loops over rows)."""

from __future__ import annotations

import datetime as _dt
import decimal

import ibis
import pyarrow as pa

from ..run.execute import run_query
from .config import PlannedSync
from .hashing import hashed_identifier

SEP, NULL = "\u241f", "\u2400"  # field separator and null marker inside the hashed text
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
PHONE = r"^\+[1-9][0-9]{6,14}$"


def evaluate_audiences(spec, con, planned: list[PlannedSync], *, as_of, params=None) -> pa.Table:
    """Members of the synced segments: the key, one boolean per segment, every column or feature
    a sync reads.  One query: the spec's plan, joined to the entity columns it needs."""
    segments = list(dict.fromkeys(p.sync.segment for p in planned))
    sources = list(dict.fromkeys(s for p in planned for s in p.sources.values()))
    features = [s for s in sources if s in spec.features]
    columns = [s for s in sources if s not in spec.features and s != spec.key and s not in segments]
    wide = spec.evaluate(con, as_of=as_of, params=params, segments=segments, features=features)
    if columns:
        entity = con.table(spec.model.entity.table)
        wide = wide.join(entity.select(spec.key, *columns), spec.key)
    member = wide[segments[0]]
    for name in segments[1:]:
        member = member | wide[name]
    return run_query(lambda: wide.filter(member).to_pyarrow(), "evaluating the audiences")


def field_columns(planned: PlannedSync) -> dict[str, str]:
    """Destination field -> column name in the audience expression (``_f0``, ``_f1``...)."""
    return {name: f"_f{i}" for i, name in enumerate(planned.sync.fields)}


def sync_audience(members, planned: PlannedSync, key: str):
    """One sync's audience as an Ibis expression over ``members``: ``key`` (string), normalised
    ``identifier``, the fields (``_f0``...), ``hash`` of the fields and ``problem`` (null when the
    row may be sent; else why it is rejected before sending)."""
    t = members.filter(members[planned.sync.segment])
    kind = planned.sync.identifier_kind
    ident = t[planned.sources["identifier"]].cast("string").strip()
    if kind == "email":
        ident = ident.lower()
    ident = ident.nullif("")
    fields = {col: t[planned.sources[name]] for name, col in field_columns(planned).items()}
    texts = [ibis.literal(name) for name in field_columns(planned)]
    texts += [v.cast("string").fill_null(NULL) for v in fields.values()]
    digest = ibis.literal(SEP).join(texts).hexdigest("md5") if fields else ibis.literal("")
    problem = ibis.cases((ident.isnull(), f"missing {kind}"), else_=ibis.null("string"))
    if kind in ("email", "phone"):
        pattern = EMAIL if kind == "email" else PHONE
        problem = problem.fill_null(ibis.ifelse(ident.re_search(pattern), ibis.null("string"),
                                                f"invalid {kind}" + (" (E.164 expected)" if kind == "phone" else "")))
    if planned.definition.hashing:  # ad platforms: the raw identifier goes no further than this query
        ident = hashed_identifier(ident, kind, planned.definition.hashing)
    out = t.select(key=t[key].cast("string"), identifier=ident, **fields, hash=digest, problem=problem)
    first = ibis.row_number().over(ibis.window(group_by=[out.identifier, out.problem.isnull()], order_by=out.key))
    return out.mutate(problem=ibis.ifelse(out.problem.isnull() & (first > 0),
                                          f"duplicate {kind}: another member has the same one", out.problem))


def json_value(value):
    """A field value as JSON: dates and times as ISO 8601, decimals as numbers."""
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    return value
