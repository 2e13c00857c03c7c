"""Fuzz inputs and the one fuzz oracle, shared by ``tests/test_fuzz.py`` (hypothesis, a few
seconds) and ``bench/fuzz.py`` (a million inputs, for releases).

The oracle: an input goes through the public entry points, as ``segrules validate`` does
(``load_text``, then ``validate`` offline and against a small DuckDB); the only allowed outcomes
are success and :class:`segrules.SegrulesError` diagnostics. Anything else is a crash.

The inputs, all from a ``random.Random`` (so a seed replays them, and hypothesis can drive them
through ``st.randoms()``):

* expressions: random sentences of ``segrules/lang/grammar.lark`` itself, rules expanded at
  random to a depth, terminals drawn from :data:`TERMINALS` (names of the fuzz schema, edge-case
  literals); a grammar terminal without samples fails ``test_fuzz_every_terminal_has_samples``;
* spec-shaped YAML: the keys of a spec, with random keys, values, tags, anchors, aliases and
  merge keys, quoting styles and unicode (NUL, surrogates, BOM, line separators) mixed in;
* mutations of those texts: lines deleted, duplicated, swapped; characters inserted.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from lark.grammar import NonTerminal

from segrules.lang.parser import build_lark

SCHEMA = {
    "people": {"id": "int64", "age": "int64", "score": "float64", "ltv": "decimal(12, 2)", "name": "string",
               "country": "string", "joined_at": "timestamp", "born": "date", "active": "boolean"},
    "txns": {"id": "int64", "at": "timestamp", "amount": "float64", "kind": "string"},
}
NAMES = ["age", "score", "ltv", "name", "country", "joined_at", "born", "active", "id", "txns", "amount",
         "kind", "at", "f0", "f1", "nope", "lower", "upper", "length", "contains", "matches", "coalesce",
         "round", "abs", "least", "greatest", "days_since", "date_trunc", "add_months", "count", "sum", "avg",
         "min", "max", "first", "last", "count_distinct", "segment", "date", "timestamp", "sequence",
         "time_between", "percent_rank", "ntile", "top_n", "bucket", "this", "last", "month", "week", "entity",
         "rfm", "x"]
TERMINALS = {
    "COMP_OP": ["==", "!=", "<=", ">=", "<", ">"], "PLUS": ["+"], "MINUS": ["-"], "STAR": ["*"],
    "SLASH": ["/"], "PERCENT": ["%"], "NOT": ["not"], "BETWEEN": ["between"],
    "DURATION": ["30d", "1h", "45s", "2w", "90min", "0d", "7d", "365d", "99999999999999999999d", "3days",
                 "1.5h", "2m"],
    "DECIMAL": ["0.5", "1.25", "3.14159", "0.0000001", "99999999999999999999.5", "1.0"],
    "INT": ["0", "1", "2", "7", "30", "40", "2147483648", "99999999999999999999", "9" * 40],
    "STRING": ["'a'", "''", "'US'", "'2024-01-31'", "'2024-01-31 10:00:00'", "'it\\'s'", '"b"', "'é'",
               "'%a_'", "'[a-z]+'", "'(?P<'", "'day'", "'month'", "'a\\nb'", "'\\\\'", "'segment'"],
    "PARAM": ["$n", "$s", "$t", "$recent", "$nope"],
    "NAME": NAMES,
}
TAGS = ["!!str", "!!int", "!!float", "!!bool", "!!null", "!!timestamp", "!!binary", "!!set", "!!omap",
        "!!map", "!!seq", "!foo", "!", "!!python/object:os.system", "!<tag:yaml.org,2002:str>", "!!merge"]
ODD_TEXT = ["\x00", "\ud800", "\udfff", "\ufeff", "\u2028", "\u0085", "é", "日本", "🙂", "\u202e", "a\u0301",
            "\t", "\r", "\\", "'", '"', "#", ": ", "- ", "&a", "*a", "{", "[", "%", "@", "`", "|", ">", "~"]
SCALARS = ["1", "0", "-1", "2.5", "1e400", ".nan", ".inf", "true", "no", "on", "null", "~", "", "2024-01-31",
           "2024-02-30", "2024-01-31 10:00:00", "0x1F", "0o17", "0b101", "1_000", "12:30:00", "9" * 40,
           "people", "txns", "id", "at", "US", "x y", "=", "<<"]
SPEC_KEYS = ["version", "name", "description", "entity", "sources", "params", "features", "segments", "schema",
             "timezone", "assume", "tags", "rfm", "taxonomies", "syncs", "where", "table", "key", "time",
             "x-extra", "<<"]


@dataclass(frozen=True)
class _Rule:
    symbols: tuple  # (is_rule, name) pairs
    depth: int  # the least depth a sentence of this expansion needs


@lru_cache(maxsize=1)
def _grammar() -> tuple[dict[str, list[_Rule]], dict[str, str]]:
    """grammar.lark's rules as origin -> expansions, each with the least depth it needs; and
    the text of its keyword and punctuation terminals."""
    lark = build_lark()
    raw: dict[str, list[tuple]] = {}
    for rule in lark.rules:
        symbols = tuple((isinstance(s, NonTerminal), s.name) for s in rule.expansion)
        raw.setdefault(rule.origin.name, []).append(symbols)
    least = {name: 10**9 for name in raw}
    changed = True
    while changed:  # fixpoint: a rule's least depth is 1 + the deepest of its children's least
        changed = False
        for name, expansions in raw.items():
            for symbols in expansions:
                need = 1 + max((least[n] if is_rule else 0 for is_rule, n in symbols), default=0)
                if need < least[name]:
                    least[name], changed = need, True
    rules = {name: [_Rule(symbols, 1 + max((least[n] if r else 0 for r, n in symbols), default=0))
                    for symbols in expansions] for name, expansions in raw.items()}
    fixed = {t.name: t.pattern.value for t in lark.terminals if t.pattern.type == "str"}
    return rules, fixed


def terminal_names() -> set[str]:
    return {t.name for t in build_lark().terminals} - {"WS", "COMMENT"}


def expression(rng: random.Random, depth: int = 12) -> str:
    """A random sentence of grammar.lark, at most about ``depth`` rules deep."""
    grammar, fixed = _grammar()
    out: list[str] = []
    stack: list[tuple[bool, str, int]] = [(True, "start", depth)]
    while stack:
        is_rule, name, budget = stack.pop()
        if not is_rule:
            out.append(rng.choice(TERMINALS[name]) if name in TERMINALS else fixed[name])
            continue
        options = [r for r in grammar[name] if r.depth <= budget] or [min(grammar[name], key=lambda r: r.depth)]
        rule = rng.choice(options)
        stack.extend((r, n, budget - 1) for r, n in reversed(rule.symbols))
    return " ".join(out) if rng.random() < 0.8 else "".join(out)


_TYPED_LEAVES = {
    "num": ["age", "score", "ltv", "id", "$n", "f0", "0", "1", "2.5", "-3", "count(txns)", "sum(txns.amount)",
            "count(txns where kind == 'a' within 30d)", "avg(txns.amount within $recent)", "days_since(joined_at)",
            "length(name)", "round(score, 1)", "round(ltv, 2)", "abs(score)", "coalesce(age, 0)",
            "round(ltv, 40)", "round(score, 99999999999)", "percent_rank(score)", "ntile(ltv, 3)",
            "bucket(id, 'h', 100)", "days_between(born, joined_at)", "hours_since(born)", "9223372036854775807",
            "99999999999999999999", "count_distinct(txns.kind)", "least(age, 3)", "greatest(ltv, 1.5)"],
    "str": ["name", "country", "'a'", "''", "$s", "lower(name)", "upper(country)", "first(txns.kind)",
            "trim(name)", "last(txns.kind within this month)", "'é'"],
    "ts": ["joined_at", "now", "today", "now - 30d", "timestamp('2024-01-31 10:00:00')", "max(txns.at)",
           "date_trunc('month', joined_at)", "born", "add_months(born, 99999999)", "add_months(joined_at, -5)",
           "now - 99999999999999999999d", "start_of_week(born)", "date('0001-01-01')", "today - 3000000w"],
    "bool": ["active", "true", "false", "segment('s0')", "name is null", "country in ('US', 'FR')",
             "age between 18 and 65", "contains(name, 'a')", "matches(country, '^U')", "matches(name, '(?P<')",
             "matches(name, '[')", "top_n(score, 2)", "starts_with(name, '%')",
             "count(txns where amount > 1 within last week) > 0"],
}


def typed(rng: random.Random, typ: str = "bool", depth: int = 3) -> str:
    """A random, mostly well-typed rule over :data:`SCHEMA` (to get past the checker into
    compile and run, where the grammar's random sentences seldom go)."""
    if depth <= 0 or rng.random() < 0.3:
        leaf = rng.choice(_TYPED_LEAVES[typ])
        return leaf
    d = depth - 1
    if typ == "num":
        op = rng.choice("+-*/%")
        return f"({typed(rng, 'num', d)} {op} {typed(rng, 'num', d)})"
    if typ == "str":
        return f"coalesce({typed(rng, 'str', d)}, {typed(rng, 'str', d)})"
    if typ == "ts":
        return f"({typed(rng, 'ts', d)} {rng.choice('+-')} {rng.choice(TERMINALS['DURATION'][:7])})"
    kind = rng.randrange(6)
    if kind == 0:
        return f"{typed(rng, 'bool', d)} {rng.choice(['and', 'or'])} {typed(rng, 'bool', d)}"
    if kind == 1:
        return f"not ({typed(rng, 'bool', d)})"
    other = rng.choice(["num", "str", "ts"])
    if kind == 2:
        return f"{typed(rng, other, d)} {rng.choice(TERMINALS['COMP_OP'])} {typed(rng, other, d)}"
    if kind == 3:
        return f"{typed(rng, other, d)} in ({', '.join(typed(rng, other, 0) for _ in range(rng.randint(1, 4)))})"
    if kind == 4:
        return f"{typed(rng, other, d)} is {rng.choice(['', 'not '])}null"
    return f"{typed(rng, 'num', d)} between {typed(rng, 'num', d)} and {typed(rng, 'num', d)}"


# --- YAML -----------------------------------------------------------------------------------
class _Yaml:
    """Writes spec-shaped YAML with random decorations (tags, anchors, aliases, odd text)."""

    def __init__(self, rng: random.Random, wild: float):
        self.rng, self.wild, self.anchors = rng, wild, []

    def odd(self) -> bool:
        return self.rng.random() < self.wild

    def text(self, value: str, flow: bool = False) -> str:
        rng = self.rng
        if self.odd():
            at = rng.randint(0, len(value))
            value = value[:at] + rng.choice(ODD_TEXT) + value[at:]
        style = rng.random()
        if style < 0.5 and (_plain_ok(value, flow) or self.odd()):
            return value
        if style < 0.75:
            return "'" + value.replace("'", "''") + "'"
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        if self.odd():
            escaped += rng.choice(["\\0", "\\x00", "\\u0000", "\\ud800", "\\N", "\\_", "\\e", "\\q"])
        return '"' + escaped + '"'

    def decorate(self, written: str) -> str:
        rng = self.rng
        if self.odd():
            written = rng.choice(TAGS) + " " + written
        if self.odd():
            anchor = rng.choice(["a", "b", "c", "d"])
            self.anchors.append(anchor)
            written = f"&{anchor} {written}"
        if self.anchors and self.odd():
            return "*" + rng.choice(self.anchors)
        return written

    def scalar(self) -> str:
        return self.decorate(self.rng.choice(SCALARS) if self.rng.random() < 0.7 else self.text(
            self.rng.choice(SCALARS)))

    def flow(self, value) -> str:
        if isinstance(value, dict):
            return self.decorate("{" + ", ".join(f"{self.key(k, 0)}: {self.flow(v)}" for k, v in value.items()) + "}")
        if isinstance(value, list):
            return self.decorate("[" + ", ".join(self.flow(v) for v in value) + "]")
        if value is None:
            return self.scalar()
        return self.decorate(self.text(value, flow=True) if isinstance(value, str) else str(value))

    def value(self, value, indent: int) -> str:
        """``value`` (str, dict, list or None for a random scalar) written after a key at ``indent``."""
        if isinstance(value, dict) and value and self.rng.random() < 0.7:
            head = self.decorate("")
            lines = [self.key(k, indent + 2) + ":" + self.value(v, indent + 2) for k, v in value.items()]
            if self.anchors and self.odd():
                lines.insert(0, " " * (indent + 2) + "<<: *" + self.rng.choice(self.anchors))
            return (" " + head if head else "") + "\n" + "\n".join(lines)
        if isinstance(value, str):
            return " " + self.decorate(self.text(value))
        return " " + self.flow(value)

    def key(self, key: str, indent: int) -> str:
        if self.odd():
            key = self.rng.choice(SPEC_KEYS + ["? [a]", "~", "1", "!!bool x", "'a\\0'", "\"a\\0\""])
        return " " * indent + key


def _plain_ok(value: str, flow: bool) -> bool:
    """Whether ``value`` may be written as a plain scalar and still read back as itself."""
    if not value or value != value.strip() or value[0] in "-?:,[]{}#&*!|>'\"%@`" or ": " in value:
        return False
    return " #" not in value and not (flow and any(c in value for c in ",[]{}"))


def spec_data(rng: random.Random) -> dict:
    """A spec as nested dicts (expressions from the grammar), None for "a random scalar"."""
    def rule(typ: str) -> str:
        return typed(rng, typ, rng.randint(1, 4)) if well_typed else expression(rng, rng.randint(3, 14))

    well_typed = rng.random() < 0.5
    features = {"f0": rule("num")} if rng.random() < 0.7 else {}
    if rng.random() < 0.3:
        features["f1"] = rule(rng.choice(["num", "str", "ts", "bool"]))
    segments = {f"s{i}": {"where": rule("bool")} for i in range(rng.randint(1, 3))}
    if rng.random() < 0.3:
        segments[f"s{len(segments)}"] = {"where": "segment('s0') and " + rule("bool"),
                                         "description": "d", "tags": ["a", "b"]}
    data = {"version": 1, "name": "fuzz", "entity": {"table": "people", "key": "id"},
            "sources": {"txns": {"table": "txns", "key": "id", "time": "at"}},
            "params": {"n": 5, "s": "a", "t": "2024-01-31", "recent": "30d"},
            "features": features, "segments": segments}
    if rng.random() < 0.5:
        data["schema"] = {t: dict(cols) for t, cols in SCHEMA.items()}
    for _ in range(rng.randint(0, 3) if rng.random() < 0.3 else 0):  # random keys and values
        path = [data]
        while isinstance(path[-1], dict) and path[-1] and rng.random() < 0.6:
            path.append(path[-1][rng.choice(list(path[-1]))])
        target = path[-1] if isinstance(path[-1], dict) else path[-2]
        target[rng.choice(SPEC_KEYS)] = rng.choice([None, [None, None], {"a": None}, "x", {}])
    return data


def spec_text(rng: random.Random, wild: float = 0.05) -> str:
    """A spec-shaped YAML document; ``wild`` is the chance of each decoration."""
    writer = _Yaml(rng, wild)
    data = spec_data(rng)
    if rng.random() < 0.02:  # now and then an alias bomb of random shape
        levels, width = rng.randint(2, 9), rng.randint(2, 10)
        bomb = ["l0: &l0 x"] + [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]"
                                for i in range(1, levels)]
        return "\n".join(bomb) + "\n" + "\n".join(writer.key(k, 0) + ":" + writer.value(v, 0)
                                                  for k, v in data.items()) + "\n"
    return "\n".join(writer.key(k, 0) + ":" + writer.value(v, 0) for k, v in data.items()) + "\n"


def mutate(rng: random.Random, text: str) -> str:
    lines = text.splitlines()
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        op, i = rng.randrange(5), rng.randrange(len(lines))
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            at = rng.randint(0, len(lines[i]))
            junk = "".join(rng.choice(ODD_TEXT + list(":-{}[],'\"#&*!|>%@ ")) for _ in range(rng.randint(1, 3)))
            lines[i] = lines[i][:at] + junk + lines[i][at + (op == 4) * rng.randint(0, 3):]
    return "\n".join(lines) + "\n"


def generate(rng: random.Random, tame: bool = False) -> str:
    """One fuzz input: a spec, a wilder spec, or a mutated one; ``tame``: a spec with few
    decorations (most of them load, so they reach the checker, compilation and the database)."""
    if tame:
        return spec_text(rng, 0.001)
    kind = rng.random()
    if kind < 0.6:
        return spec_text(rng, 0.001)
    if kind < 0.8:
        return spec_text(rng, 0.08)
    return mutate(rng, spec_text(rng, 0.01))


# --- the oracle -----------------------------------------------------------------------------
AS_OF = "2024-06-15 12:00:00"


def small_duckdb(path: str = ":memory:"):
    """A DuckDB (in memory, or the file ``path``) holding the fuzz schema's tables, a few rows each."""
    import ibis
    import pyarrow as pa

    con = ibis.duckdb.connect(path)
    rows = {
        "people": [dict(id=1, age=30, score=1.5, ltv="12.50", name="a", country="US", joined_at="2024-01-01",
                        born="1990-05-01", active=True),
                   dict(id=2, age=None, score=None, ltv=None, name=None, country=None, joined_at=None, born=None,
                        active=None)],
        "txns": [dict(id=1, at="2024-06-01 10:00:00", amount=20.0, kind="a"),
                 dict(id=1, at="2024-06-10 10:00:00", amount=None, kind=None)],
    }
    for table, columns in SCHEMA.items():
        schema = ibis.schema(columns)
        data = pa.Table.from_pylist(rows[table]).cast(pa.schema(
            [(name, pa.string() if "decimal" in typ or typ in ("timestamp", "date") else schema[name].to_pyarrow())
             for name, typ in columns.items()]))
        con.create_table(table, ibis.memtable(data).cast(schema))
    return con


class Oracle:
    """Runs an input as ``segrules validate`` does; returns the outcome as a label
    (``load:SR101``, ``invalid:SR304``, ``valid``, ``run:SR7xx``, ``ran``). A crash (any exception
    that is not a SegrulesError) propagates."""

    def __init__(self, con=None, registry=None, run: bool = False):
        import segrules

        self.con, self.run = con, run
        self.registry = registry if registry is not None else segrules.default_registry()

    def check(self, text: str, path: str = "<string>", params: dict | None = None,
              segments: list[str] | None = None) -> str:
        from segrules import SegrulesError, load_text
        from segrules.run.execute import materialize

        try:
            spec = load_text(text, path, registry=self.registry)
        except SegrulesError as exc:
            exc.render({path: text})  # the one renderer copes with every diagnostic
            return "load:" + exc.diagnostics[0].code
        diags = spec.validate()
        if self.con is not None:
            diags += spec.validate(self.con)
        errors = [d for d in diags if d.is_error]
        SegrulesError(diagnostics=diags).render({path: text}) if diags else None
        if errors:
            return "invalid:" + errors[0].code
        if not (self.run and self.con is not None):
            return "valid"
        try:
            # through the run path (segrules run's): a backend's error on this data is SR703
            materialize(spec.evaluate(self.con, as_of=AS_OF, params=params, segments=segments))
        except SegrulesError as exc:
            return "run:" + exc.diagnostics[0].code
        return "ran"
