"""Load YAML into plain data plus a side index of source positions.

The data handed to pydantic is plain dicts/lists/scalars; positions live beside it in a
:class:`PositionIndex` keyed by the path of each value (``("segments", "vip", "where")``),
never injected into the data itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from ..diagnostics import Diagnostic, Span
from ..errors import SpecError
from .yamlguard import bad_char, char_name, check_aliases, check_text, tag_problem

# libyaml's composer when PyYAML was built with it (marks are the same), else pure Python.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path_ = tuple  # a path into the document: keys and list indices
_MERGE = "tag:yaml.org,2002:merge"
_REFUSED = object()  # a scalar the guard refused (its diagnostic is recorded)


@dataclass(frozen=True)
class NodePos:
    span: Span
    style: str | None = None  # YAML scalar style: None plain, "'", '"', '|', '>'
    # For string scalars: (offset-in-value, line, column) pieces mapping value text to the file.
    segments: tuple[tuple[int, int, int], ...] = ()
    raw: str | None = None  # the scalar's text as written (``true`` stays ``true``)


@dataclass
class PositionIndex:
    file: str
    values: dict[Path_, NodePos] = field(default_factory=dict)
    keys: dict[Path_, Span] = field(default_factory=dict)

    def value_span(self, path: Path_) -> Span | None:
        """Span of the value at ``path``, or of its nearest ancestor that has one."""
        path = tuple(path)
        while True:
            if path in self.values:
                return self.values[path].span
            if not path:
                return None
            path = path[:-1]

    def key_span(self, path: Path_) -> Span | None:
        """Span of the mapping key that introduces ``path`` (falls back to the value)."""
        return self.keys.get(tuple(path)) or self.value_span(path)

    def raw(self, path: Path_) -> str | None:
        pos = self.values.get(tuple(path))
        return pos.raw if pos else None

    def segments(self, path: Path_) -> tuple[tuple[int, int, int], ...]:
        pos = self.values.get(tuple(path))
        return pos.segments if pos else ()


def _span(file: str, node: yaml.Node) -> Span:
    s, e = node.start_mark, node.end_mark
    return Span(file, s.line + 1, s.column + 1, e.line + 1, e.column + 1)


def _scalar_segments(lines: list[str], node: yaml.ScalarNode, value: str) -> tuple:
    """Map offsets in a string scalar's value back to file positions (best effort, exact
    for plain, quoted and block scalars without escapes or blank lines)."""
    s, e = node.start_mark, node.end_mark
    if node.style in ("|", ">"):
        pieces = []
        indent = None
        for no in range(s.line + 1, min(e.line + 1, len(lines))):
            raw = lines[no]
            if not raw.strip():
                continue
            stripped = raw.lstrip(" ")
            ind = len(raw) - len(stripped)
            if indent is None:
                indent = ind
            if ind < indent:
                break
            pieces.append((no + 1, indent + 1, raw[indent:]))
        sep = "\n" if node.style == "|" else " "
    else:
        quote = 1 if node.style in ("'", '"') else 0
        if s.line == e.line:
            return ((0, s.line + 1, s.column + 1 + quote),)
        pieces = [(s.line + 1, s.column + 1 + quote, lines[s.line][s.column + quote:].rstrip())]
        for no in range(s.line + 1, e.line + 1):
            raw = lines[no] if no < len(lines) else ""
            stripped = raw.lstrip(" \t")
            text = stripped[:-quote].rstrip() if (no == e.line and quote) else stripped.rstrip()
            if no == e.line and not quote:
                text = stripped[: e.column - (len(raw) - len(stripped))].rstrip()
            pieces.append((no + 1, len(raw) - len(stripped) + 1, text))
        sep = " "
    out, offset = [], 0
    for line, col, text in pieces:
        out.append((offset, line, col))
        offset += len(text) + len(sep)
    if sep.join(p[2] for p in pieces) != value.rstrip("\n"):
        # Escapes or folding we do not model exactly: point every offset at the start.
        return ((0, s.line + 1, s.column + 1),)
    return tuple(out)


class _Builder:
    def __init__(self, text: str, file: str):
        self.file = file
        self.lines = text.splitlines()
        self.index = PositionIndex(file)
        self.constructor = yaml.SafeLoader("")
        self.diagnostics: list[Diagnostic] = []
        self.flattened: dict[int, tuple[yaml.MappingNode, int]] = {}  # id -> (node, start of own pairs)

    def flatten(self, node: yaml.MappingNode) -> int:
        """Resolve ``<<`` merge keys in place (YAML puts the merged pairs first, then the
        mapping's own); return where the own pairs start. A shared (aliased) node is flattened
        once."""
        if id(node) not in self.flattened:
            merges = sum(key.tag == _MERGE for key, _ in node.value)
            own = len(node.value) - merges
            self.constructor.flatten_mapping(node)
            self.flattened[id(node)] = (node, len(node.value) - own)
        return self.flattened[id(node)][1]

    def scalar(self, node: yaml.ScalarNode) -> Any:
        """The value of a scalar, or _REFUSED with a diagnostic for a refused tag or character."""
        problem = tag_problem(node, self.constructor, self.file)
        if problem is not None:
            self.diagnostics.append(problem)
            return _REFUSED
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError) as exc:  # a bad date, a huge number
            self.diagnostics.append(Diagnostic(
                "SR101", f"YAML error: {getattr(exc, 'problem', None) or exc}", _span(self.file, node)))
            return _REFUSED
        char = bad_char(value) if isinstance(value, str) else None
        if char is not None:
            self.diagnostics.append(Diagnostic(
                "SR152", f"{char_name(char)} in a string", _span(self.file, node),
                hint="PostgreSQL cannot store it; remove the escape that makes it"))
            return _REFUSED
        return value

    def build(self, node: yaml.Node, path: Path_) -> Any:
        problem = None if isinstance(node, yaml.ScalarNode) else tag_problem(node, self.constructor, self.file)
        if problem is not None:
            self.diagnostics.append(problem)
            return None
        if isinstance(node, yaml.MappingNode):
            self.index.values[path] = NodePos(_span(self.file, node))
            chosen: dict = {}  # key -> (key node, value node), in the order YAML gives them
            first_own = self.flatten(node)
            for i, (key_node, value_node) in enumerate(node.value):
                key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                if key is _REFUSED:
                    continue
                if not isinstance(key, (str, int, float, bool)) or key is None:
                    self.diagnostics.append(Diagnostic(
                        "SR102", "mapping keys must be plain names", _span(self.file, key_node)))
                    continue
                if key in chosen and i >= first_own and chosen[key][0] >= first_own:
                    self.diagnostics.append(Diagnostic(
                        "SR103", f"duplicate key {key!r}", _span(self.file, key_node),
                        hint="a later value would silently replace the earlier one; keep one"))
                    continue
                chosen[key] = (i, key_node, value_node)  # a merged (<<) value gives way to a later one
            out: dict = {}
            for key, (_, key_node, value_node) in chosen.items():
                self.index.keys[path + (key,)] = _span(self.file, key_node)
                out[key] = self.build(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            self.index.values[path] = NodePos(_span(self.file, node))
            return [self.build(child, path + (i,)) for i, child in enumerate(node.value)]
        value = self.scalar(node)
        if value is _REFUSED:
            return None
        segments = _scalar_segments(self.lines, node, value) if isinstance(value, str) else ()
        if not isinstance(value, str):
            segments = ((0, node.start_mark.line + 1, node.start_mark.column + 1),)
        self.index.values[path] = NodePos(_span(self.file, node), node.style, segments, node.value)
        return value


def load_yaml(text: str, file: str) -> tuple[Any, PositionIndex]:
    """Parse YAML text; return (plain data, position index). Raises :class:`SpecError`."""
    check_text(text, file)
    try:
        root = yaml.compose(text, Loader=_LOADER)
        check_aliases(text, file, _LOADER)
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow, at its offset
        at = exc.position if _LOADER is yaml.SafeLoader else len(  # libyaml counts UTF-8 bytes
            text.encode("utf-8")[:exc.position].decode("utf-8", "ignore"))
        before = text[:at]
        span = Span(file, before.count("\n") + 1, at - (before.rfind("\n") + 1) + 1)
        raise SpecError(f"YAML error: character U+{exc.character:04X} is not allowed in YAML"
                        if isinstance(exc.character, int) else f"YAML error: {exc.reason}",
                        span=span, code="SR101") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        span = Span(file, mark.line + 1, mark.column + 1) if mark else Span(file, 1, 1)
        problem = exc.problem or "invalid YAML"
        context = f" ({exc.context})" if exc.context else ""
        raise SpecError(f"YAML syntax error: {problem}{context}", span=span, code="SR101") from None
    except yaml.YAMLError as exc:
        raise SpecError(f"YAML error: {exc}", span=Span(file, 1, 1), code="SR101") from None
    except RecursionError:
        raise SpecError("YAML nested too deeply", span=Span(file, 1, 1), code="SR101") from None
    if root is None:
        raise SpecError("the spec file is empty", span=Span(file, 1, 1), code="SR104")
    builder = _Builder(text, file)
    try:
        data = builder.build(root, ())
    except RecursionError:
        raise SpecError("YAML nested too deeply", span=Span(file, 1, 1), code="SR101") from None
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # constructor errors, e.g. a bad date
        mark = getattr(exc, "problem_mark", None)
        span = Span(file, mark.line + 1, mark.column + 1) if mark else Span(file, 1, 1)
        raise SpecError(f"YAML error: {getattr(exc, 'problem', exc)}", span=span, code="SR101") from None
    if builder.diagnostics:  # an aliased node reports its problem once
        raise SpecError(diagnostics=list(dict.fromkeys(builder.diagnostics)))
    return data, builder.index
