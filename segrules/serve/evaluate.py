"""Incremental evaluation: the spec's compiled plan, run for the touched entities only.

The plans are built and compiled to SQL once, from the same compile stage as ``segrules run``
(:func:`segrules.compile.plan.compile_plan`), so membership cannot drift from a batch run.
``now`` is not a literal in them but the one row of the ``clock`` table (a scalar subquery),
written before each evaluation: the compiled SQL stays the same, and compiling (with Ibis, the
larger part of an evaluation's time on small batches) happens once per process:

* the **local** plan computes the global-free outputs (:mod:`.rules`) over the entity table and
  the sources filtered to the keys in the ``touched`` table — one plan, any set of keys;
* the same outputs unfiltered, for a sweep (every entity);
* the **global** plan computes the outputs that read population values, over every entity,
  on every evaluation;
* the **due** plan gives each touched entity its next change time (:class:`.rules.TimeRules`).

One evaluation = the touched keys (pending ∪ due by ``now``, or all for a sweep), the plans run
at ``now``, the rows compared with the stored ones, and the changed rows, the enter/exit
changes and the next change times written in one transaction (:mod:`.store`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import ibis
import pyarrow as pa
import sqlglot as sg
from ibis.common.exceptions import IbisError

from ..compile.derived import apply_derived, raw_segments
from ..compile.plan import compile_plan
from .rules import TICK_SECONDS, Kinds, RuleKind, classify
from .slices import KeyedRows, Slices, key_kind, plan_columns
from .store import Store

log = logging.getLogger("segrules.serve")


@dataclass(frozen=True)
class Change:
    """One enter or exit of ``key`` in ``segment``, found by evaluation ``evaluation`` at ``at``
    (the evaluation's ``now``). ``change_id`` is the same whenever that evaluation is run again
    (after a crash before it committed): destinations de-duplicate on it."""

    seq: int
    change_id: str
    evaluation: int
    at: datetime
    key: str
    segment: str
    kind: str  # "enter" | "exit"

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "change_id": self.change_id, "evaluation": self.evaluation,
                "at": self.at.isoformat(), "key": self.key, "segment": self.segment, "kind": self.kind}

    @functools.cached_property
    def event(self) -> bytes:
        """The change as one server-sent event (``id:`` its seq), encoded once: the evaluation
        thread encodes its changes, so the change stream only joins bytes."""
        return f"id: {self.seq}\nevent: change\ndata: {json.dumps(self.as_json())}\n\n".encode()


def change_id(spec: str, evaluation: int, key: str, segment: str, kind: str) -> str:
    text = "\x1f".join([spec, str(evaluation), key, segment, kind])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Evaluator:
    """The plans of one spec on one connection, and the evaluation step."""

    def __init__(self, spec: Any, con: Any, store: Store, params: dict[str, Any] | None = None):
        self.spec, self.con, self.store = spec, con, store
        self.checked = spec.check(con)
        self.values = spec.params(params)
        self.kinds: Kinds = classify(self.checked, self.values)
        m = spec.model
        self.key = m.entity.key
        self.now = store.table("clock").now.max().as_scalar()
        tables = spec.tables(con, self.checked)
        derived = spec.derived()
        is_global = {name: self.kinds.of[("segment", name)] is RuleKind.GLOBAL for name in m.segments}
        for name, d in derived.items():
            is_global[name] = any(is_global[i] for i in d.inputs)
        segments = spec.segments
        self.segments = segments
        self.local_segments = [s for s in segments if not is_global[s]]
        self.global_segments = [s for s in segments if is_global[s]]
        self.local_features = [f for f in m.features if self.kinds.of[("feature", f)] is not RuleKind.GLOBAL]
        self.global_features = [f for f in m.features if f not in self.local_features]
        touched = store.table("touched")[self.key]
        filtered = {name: self._only_touched(name, table, touched) for name, table in tables.items()}
        self.slices: Slices | None = None
        if con.name == "duckdb":  # the local plans read the touched keys' rows from memory (.slices)
            try:
                self.slices, held = self._slices(tables, narrow=True)
                self._local_plans({**filtered, **held}, derived)
            except (AttributeError, IbisError):  # a plan reads a column the rules do not name
                self.slices, held = self._slices(tables, narrow=False)
                self._local_plans({**filtered, **held}, derived)
        else:
            self._local_plans(filtered, derived)
        # a sweep's next change times: every entity, read from the tables
        due_db = self._due_plan(filtered) if self.slices is not None and self.due is not None else None
        self.local_all = self._plan(tables, self.local_segments, self.local_features, derived)
        self.global_ = self._plan(tables, self.global_segments, self.global_features, derived)
        self.columns = [self.key, *segments, *m.features]
        self.plans = {name: plan for name, plan in (("local", self.local), ("local_all", self.local_all),
                                                    ("global", self.global_), ("due", self.due),
                                                    ("due_db", due_db)) if plan is not None}
        self.sql = {name: con.compile(plan) for name, plan in self.plans.items()}
        self.schemas = {name: plan.schema().to_pyarrow() for name, plan in self.plans.items()}
        self._members_arrow = self.members_schema().to_pyarrow()
        # what the last run wrote to `members`: the rows it inserted, the keys it removed
        self.written: tuple[pa.Table, list[Any]] = (self._members_arrow.empty_table(), [])
        self.reload()

    def reload(self) -> None:
        """Read the held tables again (at start-up, after a reset of the service's tables)."""
        if self.slices is not None:
            self.slices.clear()
            with self.store.transaction():
                self.slices.load(self.con.con, self.con.name, self._last_batch())

    def _local_plans(self, tables: dict[str, Any], derived: dict) -> None:
        self.local = self._plan(tables, self.local_segments, self.local_features, derived)
        self.due = self._due_plan(tables) if self.local is not None else None

    # -- building -------------------------------------------------------------------------
    def _only_touched(self, name: str, table: Any, touched: Any) -> Any:
        m = self.spec.model
        keys = {s.key for s in m.sources.values() if s.table == name}
        if name == m.entity.table:
            keys.add(self.key)
        if len(keys) != 1:  # a table read under two key columns: only the entity table is cut
            return table
        return table.filter(table[keys.pop()].isin(touched))

    def _slices(self, tables: dict[str, Any], *, narrow: bool) -> tuple[Slices | None, dict[str, Any]]:
        """The source tables held in memory (those read under one key column of the entity key's
        kind; ``narrow``: only the columns the rules read) and the registered tables the local
        plans read in their place."""
        m, raw = self.spec.model, self.con.con
        kind = key_kind(tables[m.entity.table][self.key].type().to_pyarrow())
        held: dict[str, KeyedRows] = {}
        names: dict[str, str] = {}
        for name, table in tables.items():
            keys = {s.key for s in m.sources.values() if s.table == name}
            if name == m.entity.table or len(keys) != 1 or kind is None or "." in name:
                continue
            key = keys.pop()
            if key_kind(table[key].type().to_pyarrow()) != kind:
                continue
            columns = plan_columns(self.checked, m, name, table.columns) if narrow else list(table.columns)
            query = sg.select(*[sg.column(c, quoted=True) for c in columns]).from_(sg.table(name, quoted=True))
            schema = raw.execute(query.limit(0).sql(self.con.name)).to_arrow_table().schema
            held[name] = KeyedRows(name, key, kind, schema)
            names[name] = self.store.name("slice_" + "".join(c if c.isalnum() else "_" for c in name))
            raw.register(names[name], schema.empty_table())
        if not held:
            return None, {}
        return Slices(held, names), {name: self.con.table(names[name]) for name in held}

    def _plan(self, tables: dict[str, Any], segments: list[str], features: list[str], derived: dict) -> Any:
        if not segments and not features:
            return None
        own = {n: d for n, d in derived.items() if n in segments}
        raw = raw_segments(segments, own, self.spec.model.segments)
        wide = compile_plan(self.checked, tables, self.now, self.values, raw, features, dialect=self.con.name)
        return apply_derived(wide, self.key, segments, raw, own)

    def _due_plan(self, tables: dict[str, Any]) -> Any:
        """Per touched entity, the earliest candidate change time after ``now`` (see rules): per
        table one pass that takes, per key, the earliest candidate after ``now`` of each kind
        (``t + D``, and one microsecond later), then the earliest of those."""
        m, rules = self.spec.model, self.kinds.time_rules
        key_type = tables[m.entity.table][self.key].type()
        shifts: dict[tuple[str, str], list[tuple[str, float]]] = {}  # (table, key) -> (time column, seconds)
        for source, windows in rules.windows.items():
            src = m.sources[source]
            if src.time is not None:
                shifts.setdefault((src.table, src.key), []).extend((src.time, s) for s in sorted(windows))
        entity = (m.entity.table, self.key)
        shifts.setdefault(entity, []).extend(sorted(rules.shifts))
        if rules.entity_time:
            shifts[entity].append((rules.entity_time, 0.0))
        parts = []
        for (name, key), candidates in shifts.items():
            table, earliest = tables[name], {}
            for column, seconds in dict.fromkeys(candidates):
                for extra in (0.0, TICK_SECONDS):  # the instant itself and just after (> vs >=)
                    micros = round((seconds + extra) * 1_000_000)
                    at = table[column].cast("timestamp") + ibis.interval(micros, unit="us")
                    earliest[f"c{len(earliest)}"] = at.min(where=at > self.now)
            if not earliest:
                continue
            per_key = table.group_by(key).aggregate(**earliest)
            parts += [per_key.select(**{self.key: per_key[key].cast(key_type), "due_at": per_key[c]})
                      for c in earliest]
        if not parts:
            return None
        union = ibis.union(*parts)
        union = union.filter(union.due_at.notnull())
        return union.group_by(self.key).aggregate(due_at=union.due_at.min())

    # -- running --------------------------------------------------------------------------
    def members_schema(self) -> ibis.Schema:
        types: dict[str, Any] = {}
        for plan in (self.local, self.global_):
            if plan is not None:
                types.update(plan.schema().items())
        return ibis.schema({c: types[c] for c in self.columns})

    def run(self, now: datetime, *, sweep: bool) -> list[Change]:
        """One evaluation at ``now`` (inside the caller's transaction): touched = pending keys and
        keys due by ``now`` (every entity for a sweep). Returns the changes it recorded."""
        store, key = self.store, self.key
        self.written = (self._members_arrow.empty_table(), [])
        meta = store.meta()
        store.clear("clock")
        store.insert("clock", pa.table({"now": pa.array([now], pa.timestamp("us"))}))
        evaluation = int(meta.get("evaluation", "0")) + 1
        if not sweep:
            store.clear("touched")
            store.insert_query("touched", "pending_or_due", self._pending_or_due)
        touched = None if sweep else store.fetch("touched", lambda: store.table("touched").select(key))[key]
        if touched is not None and self.slices is not None:
            self._slice(touched)
        local = self._run("local_all" if sweep else "local")
        global_ = self._run("global")
        if global_ is None and not sweep:
            old = _by_key(store.fetch("members_touched", self._touched_members), key)
        else:
            old = _by_key(store.fetch("members", lambda: store.table("members")), key)
        new = self._merge(old, local, global_, touched)
        gone = [k for k in old if k not in new and (sweep or global_ is not None or k in _as_set(touched))]
        dirty = [k for k, row in new.items() if old.get(k) != row]
        changes = self._changes(evaluation, now, old, new, dirty + gone, int(meta.get("change_seq", "0")))
        key_type = self.store.key_type.to_pyarrow()
        if self.due is not None:
            if sweep:
                store.set_touched(pa.array(list(new), type=key_type))
            store.delete_touched("due")
            store.insert("due", self._run("due_db" if sweep and "due_db" in self.sql else "due"))
        if dirty or gone:
            store.set_touched(pa.array(dirty + gone, type=key_type))
            store.delete_touched("members")
            rows = pa.Table.from_pylist([new[k] for k in dirty], schema=self._members_arrow)
            store.insert("members", rows)
            self.written = (rows, gone)
        store.clear("pending")
        store.insert("changes", _changes_table(changes))
        store.set_meta({"evaluation": str(evaluation), "now": now.isoformat(),
                        "change_seq": str(changes[-1].seq if changes else meta.get("change_seq", "0"))})
        return changes

    # -- the rows held in memory (.slices) ------------------------------------------------
    def appended(self, table: str, rows: pa.Table, batch: int) -> None:
        """Ingest batch ``batch`` committed ``rows`` to ``table`` (every batch, in order)."""
        if self.slices is not None:
            self.slices.append(table, rows, batch)

    def _last_batch(self) -> int:
        """The last ingest batch the current transaction sees."""
        query = sg.select(sg.func("max", sg.column("batch", quoted=True))).from_(
            sg.table(self.store.name("batches"), quoted=True))
        return int(self.con.con.execute(query.sql(self.con.name)).fetchone()[0] or 0)

    def _slice(self, keys: pa.Array | pa.ChunkedArray) -> None:
        """Register the touched keys' rows of every held table, as this transaction sees the
        tables: first the rows of the batches it sees must all be held, and as many as the
        tables have, else the tables are read again."""
        assert self.slices is not None
        raw, batch = self.con.con, self._last_batch()
        counts = {}
        for table in self.slices.tables:
            query = sg.select(sg.func("count", sg.exp.Star())).from_(sg.table(table, quoted=True))
            counts[table] = int(raw.execute(query.sql(self.con.name)).fetchone()[0])
        if not self.slices.current(counts, batch):
            log.warning("reading the source tables again (rows written outside the service, or an ingest "
                        "that was not appended)")
            self.slices.load(raw, self.con.name, batch)
        self.slices.register(raw, keys, batch)

    def _pending_or_due(self) -> Any:
        """The keys of an evaluation: pending, or due by ``now`` (the clock's)."""
        pending = self.store.table("pending").select(self.key)
        due = self.store.table("due")
        return pending.union(due.filter(due.due_at <= self.now).select(self.key)).distinct()

    def _touched_members(self) -> Any:
        members = self.store.table("members")
        return members.filter(members[self.key].isin(self.store.table("touched")[self.key]))

    def _run(self, plan: str) -> pa.Table | None:
        """Run a compiled plan: its SQL as Ibis wrote it at start-up (``now`` is read from
        ``clock``), through the driver, the result typed by the plan's schema."""
        if plan not in self.sql:
            return None
        return self.store.read(self.sql[plan], self.schemas[plan])

    def _merge(self, old: dict[Any, dict], local: pa.Table | None, global_: pa.Table | None,
               touched: pa.Array | None) -> dict[Any, dict]:
        """The new rows by key: local columns from ``local`` for the evaluated keys (else the
        stored ones), global columns from ``global_`` (the whole universe) when there are any."""
        key = self.key
        fresh = _by_key(local, key) if local is not None else {}
        if global_ is None:
            return {k: {c: row.get(c) for c in self.columns} for k, row in fresh.items()}
        out: dict[Any, dict] = {}
        for k, grow in _by_key(global_, key).items():
            base = fresh.get(k) or old.get(k) or {}
            out[k] = {c: grow[c] if c in grow else base.get(c) for c in self.columns}
        return out

    def _changes(self, evaluation: int, now: datetime, old: dict, new: dict, keys: list, seq: int) -> list[Change]:
        out = []
        spec = self.spec.name
        for k in sorted(keys):
            before, after = old.get(k) or {}, new.get(k) or {}
            for segment in self.segments:
                was, now_in = bool(before.get(segment)), bool(after.get(segment))
                if was != now_in:
                    kind = "enter" if now_in else "exit"
                    seq += 1
                    out.append(Change(seq, change_id(spec, evaluation, str(k), segment, kind), evaluation, now,
                                      str(k), segment, kind))
        return out


def _by_key(table: pa.Table, key: str) -> dict[Any, dict]:
    return {row[key]: row for row in table.to_pylist()}


def _as_set(keys: pa.Array | None) -> set:
    return set(keys.to_pylist()) if keys is not None else set()


def _changes_table(changes: list[Change]) -> pa.Table:
    recorded = datetime.now(timezone.utc).replace(tzinfo=None)
    return pa.table({
        "seq": pa.array([c.seq for c in changes], pa.int64()),
        "change_id": pa.array([c.change_id for c in changes], pa.string()),
        "evaluation": pa.array([c.evaluation for c in changes], pa.int64()),
        "at": pa.array([c.at for c in changes], pa.timestamp("us")),
        "key": pa.array([c.key for c in changes], pa.string()),
        "segment": pa.array([c.segment for c in changes], pa.string()),
        "kind": pa.array([c.kind for c in changes], pa.string()),
        "recorded_at": pa.array([recorded] * len(changes), pa.timestamp("us")),
    })
