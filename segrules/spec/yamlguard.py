"""Limits on what a YAML file may ask the loader to do, checked before and while it is built.

Invariant: loading a spec costs time and memory proportional to its text, whatever the text.
YAML has three ways around that, each refused here with a positioned diagnostic:

* aliases: ``*a`` stands for a copy of the node anchored ``&a``, so nine levels of ten aliases
  (the "billion laughs" shape) make 10**9 nodes out of 600 bytes. Aliases may add at most
  :data:`MAX_ALIAS_NODES` nodes to the document in all (SR150); an alias inside the node it
  refers to (a recursive structure) is refused too. Counted on the event stream, before
  anything is expanded.
* tags: ``!!bool x``, ``!!timestamp x`` or ``!foo`` ask for a constructor that fails on the
  value or does not exist. A tag is kept only where it is harmless: ``!!str``, and a core tag
  that agrees with what the value already is (``!!int 5``, ``!!float 5``); others are SR151.
* characters no database stores: NUL (PostgreSQL text cannot hold it) and lone surrogates
  (not UTF-8), in the file or made by an escape (``"\\0"``): SR152.
"""

from __future__ import annotations

import re

import yaml

from ..diagnostics import Diagnostic, Span
from ..errors import SpecError

MAX_ALIAS_NODES = 10_000

CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {CORE + name for name in ("null", "bool", "int", "float", "timestamp")}
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")


def _mark_span(file: str, start, end=None) -> Span:
    if end is None:
        return Span(file, start.line + 1, start.column + 1)
    return Span(file, start.line + 1, start.column + 1, end.line + 1, end.column + 1)


def show_tag(tag: str) -> str:
    return "!!" + tag[len(CORE):] if tag.startswith(CORE) else tag


def char_name(char: str) -> str:
    return "NUL character (U+0000)" if char == "\x00" else f"lone surrogate U+{ord(char):04X}"


def bad_char(value: str) -> str | None:
    """The first character of ``value`` no database can store (NUL, a lone surrogate), or None."""
    match = _BAD_CHAR.search(value)
    return match.group() if match else None


def check_text(text: str, file: str) -> None:
    """Refuse a file holding NUL or a lone surrogate, at the character (SR152)."""
    match = _BAD_CHAR.search(text)
    if match is None:
        return
    at = match.start()
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    raise SpecError(f"{char_name(match.group())} in the file", span=Span(file, line, column), code="SR152",
                    hint="spec files are UTF-8 text; remove the character")


def check_aliases(text: str, file: str, loader: type) -> None:
    """Refuse aliases that would expand the document by more than :data:`MAX_ALIAS_NODES` nodes,
    or that sit inside the node they name (SR150). Runs on events: nothing is expanded."""
    if "*" not in text:
        return
    sizes: dict[str, int] = {}  # anchor -> nodes in its expansion
    open_: list[list] = []  # collections being read: [nodes so far, anchor]
    added = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_.append([1, event.anchor])
            continue
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            size, anchor = open_.pop()
            if anchor is not None:
                sizes[anchor] = size
        elif isinstance(event, yaml.AliasEvent):
            size = sizes.get(event.anchor)
            if size is None:
                if any(anchor == event.anchor for _, anchor in open_):
                    raise SpecError(f"alias *{event.anchor} is inside the node it refers to (a recursive "
                                    "structure)", span=_mark_span(file, event.start_mark, event.end_mark),
                                    code="SR150")
                continue  # an undefined alias: the composer reports it
            added += size
            if added > MAX_ALIAS_NODES:
                raise SpecError(f"aliases expand to more than {MAX_ALIAS_NODES:,} nodes (*{event.anchor} "
                                f"alone is {size:,})", span=_mark_span(file, event.start_mark, event.end_mark),
                                code="SR150", hint="write the repeated parts out, or use fewer nested aliases")
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
        else:
            continue
        if open_:
            open_[-1][0] += size


def tag_problem(node: yaml.Node, resolver: yaml.resolver.BaseResolver, file: str) -> Diagnostic | None:
    """SR151 for a tag the loader does not honour on ``node`` (see the module docstring)."""
    tag = node.tag
    if isinstance(node, yaml.MappingNode):
        ok = tag == CORE + "map"
    elif isinstance(node, yaml.SequenceNode):
        ok = tag == CORE + "seq"
    else:
        plain = resolver.resolve(yaml.ScalarNode, node.value, (True, False))
        implicit = plain if node.style is None else CORE + "str"
        ok = tag in (implicit, CORE + "str") or (tag in _SCALAR_TAGS and (
            plain == tag or (tag == CORE + "float" and plain == CORE + "int")))
    if ok:
        return None
    span = _mark_span(file, node.start_mark, node.end_mark)
    if tag in _SCALAR_TAGS and isinstance(node, yaml.ScalarNode):
        message = f"{node.value!r} is not a valid {show_tag(tag)} value"
    elif tag in _SCALAR_TAGS or tag in (CORE + "map", CORE + "seq", CORE + "str"):
        message = f"YAML tag {show_tag(tag)} does not fit this {type(node).__name__[:-4].lower()}"
    else:
        message = f"YAML tag {show_tag(tag)} is not supported in spec files"
    return Diagnostic("SR151", message, span, hint="remove the tag; write the value as plain YAML")
