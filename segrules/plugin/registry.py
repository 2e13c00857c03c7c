"""Everything the loaded plugins registered, checked for clashes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import pluggy

from ..diagnostics import Diagnostic
from ..errors import PluginError
from .destinations import DestinationDef
from .host import get_plugin_manager
from .streams import StreamSourceDef
from .types import EntityFunctionDef, FunctionDef, NamespaceDef, PluginInfo, SegmentOutputDef, SinkDef, SpecSection, Validator


@dataclass
class Registry:
    """Functions, spec sections, namespaces, entity functions, segment outputs, validators, sinks,
    destinations, stream sources and commands by name, with their plugin."""

    functions: dict[str, FunctionDef] = field(default_factory=dict)
    sections: dict[str, SpecSection] = field(default_factory=dict)
    namespaces: dict[str, NamespaceDef] = field(default_factory=dict)
    entity_functions: dict[str, EntityFunctionDef] = field(default_factory=dict)
    segment_outputs: dict[str, SegmentOutputDef] = field(default_factory=dict)
    validators: dict[str, Validator] = field(default_factory=dict)
    sinks: dict[str, SinkDef] = field(default_factory=dict)
    destinations: dict[str, DestinationDef] = field(default_factory=dict)
    stream_sources: dict[str, StreamSourceDef] = field(default_factory=dict)
    owner: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, name) -> plugin
    plugins: list[PluginInfo] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)
    # CLI commands are collected on first use: their modules import click, rich and the like,
    # which a library call (``segrules.load(...).evaluate(...)``) never needs.
    _commands: dict[str, object] | None = field(default=None, repr=False)
    _collect_commands: Callable[[Registry], dict[str, object]] | None = field(default=None, repr=False)
    _commands_error: PluginError | None = field(default=None, repr=False)

    @property
    def commands(self) -> dict[str, object]:
        """Sub-commands by name (``register_commands``), collected and checked on first access;
        a clash is a :class:`PluginError` on that access and on every later one."""
        if self._commands is None and self._commands_error is None:
            collect, self._collect_commands = self._collect_commands, None
            try:
                self._commands = collect(self) if collect else {}
            except PluginError as exc:
                self._commands_error = exc
        if self._commands is None:
            assert self._commands_error is not None  # the collection failed
            raise self._commands_error
        return self._commands

    def sink_for(self, target: str) -> tuple[SinkDef | None, str]:
        """The sink for ``--out TARGET`` and the target it writes to: ``name:rest`` names a sink
        explicitly (``csv:members.txt``); otherwise the file suffix picks it."""
        name, _, rest = target.partition(":")
        if rest and name in self.sinks and "/" not in name:
            return self.sinks[name], rest
        lowered = target.lower()
        for sink in self.sinks.values():
            if any(lowered.endswith(s) for s in sink.suffixes):
                return sink, target
        return None, target


_KINDS = (
    ("register_functions", "functions", "function"),
    ("register_spec_sections", "sections", "spec section"),
    ("register_namespaces", "namespaces", "namespace"),
    ("register_entity_functions", "entity_functions", "function"),
    ("register_segment_outputs", "segment_outputs", "segment output"),
    ("register_validators", "validators", "validator"),
    ("register_sinks", "sinks", "sink"),
    ("register_destinations", "destinations", "destination"),
    ("register_stream_sources", "stream_sources", "stream source"),
)
_COMMANDS = ("register_commands", "commands", "command")
# Kinds whose names share one space: an entity function is called like a function (functions
# are collected first, so an entity function clashing with one is named with both plugins).
_NAME_SPACE = {"entity_functions": "functions"}

RESERVED_SECTIONS = frozenset({"version", "name", "description", "entity", "sources", "params",
                               "features", "segments", "schema", "destinations", "syncs"})


def build_registry(
    *, load_entrypoints: bool = True, plugins: Iterable[object] = (),
    reserved_functions: Iterable[str] = (),
) -> Registry:
    """Load plugins and collect their registrations. Two plugins registering the same name (or
    a plugin reusing a built-in name) is a :class:`PluginError` naming both; for commands, when
    :attr:`Registry.commands` is first used."""
    pm, infos, problems = get_plugin_manager(load_entrypoints=load_entrypoints, plugins=plugins)
    reserved = {("functions", n): "segrules (built-in)" for n in reserved_functions}
    reserved.update({("sections", n): "segrules (built-in)" for n in RESERVED_SECTIONS})

    def commands(reg: Registry) -> dict[str, object]:
        table: dict[str, object] = {}
        _raise_clashes(_collect(pm, reg, reserved, *_COMMANDS, table))
        return table

    reg = Registry(plugins=infos, problems=problems, _collect_commands=commands)
    clashes: list[Diagnostic] = []
    for hook_name, attr, label in _KINDS:
        clashes += _collect(pm, reg, reserved, hook_name, attr, label, getattr(reg, attr))
    _raise_clashes(clashes)
    return reg


def _collect(pm: pluggy.PluginManager, reg: Registry, reserved: dict[tuple[str, str], str], hook_name: str,
             attr: str, label: str, table: dict[str, Any]) -> list[Diagnostic]:
    """Call one hook of every plugin, in registration order, into ``table``; the clashes."""
    clashes: list[Diagnostic] = []
    for impl in reversed(getattr(pm.hook, hook_name).get_hookimpls()):
        plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)
        try:
            items = impl.function() or []
        except Exception as exc:
            reg.problems.append(Diagnostic(
                "SR602", f"plugin {plugin_name}: {hook_name} raised {type(exc).__name__}: {exc}",
                source=plugin_name))
            continue
        for item in items:
            name = getattr(item, "name", None)
            if not isinstance(name, str):
                reg.problems.append(Diagnostic(
                    "SR603", f"plugin {plugin_name}: {hook_name} returned {item!r}, which has no name",
                    source=plugin_name))
                continue
            if attr == "functions" and getattr(item, "population", False):
                # a population function's window is computed by the plan (compile/ranks), for built-ins only
                reg.problems.append(Diagnostic(
                    "SR603", f"plugin {plugin_name}: {hook_name} returned function {name!r} with "
                    "population=True, which only built-in functions can have", source=plugin_name))
                continue
            space = _NAME_SPACE.get(attr, attr)
            other = reg.owner.get((attr, name)) or reg.owner.get((space, name)) or reserved.get((space, name))
            if other is not None:
                clashes.append(Diagnostic(
                    "SR604", f"{label} {name!r} is registered by both {other} and {plugin_name}",
                    source=plugin_name))
                continue
            table[name] = item
            reg.owner[(attr, name)] = plugin_name
    return clashes


def _raise_clashes(clashes: list[Diagnostic]) -> None:
    if clashes:
        raise PluginError(diagnostics=clashes)
