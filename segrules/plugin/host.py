"""Plugin manager factory. Never at import time: callers (and tests) build their own."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Iterable

import pluggy

from ..diagnostics import Diagnostic
from ..errors import PluginError
from . import hookspecs
from .types import PluginInfo

ENTRY_POINT_GROUP = "segrules"


def get_plugin_manager(
    *, load_entrypoints: bool = True, plugins: Iterable[object] = ()
) -> tuple[pluggy.PluginManager, list[PluginInfo], list[Diagnostic]]:
    """A plugin manager with the hookspecs, the entry-point plugins and ``plugins``.

    Entry points are loaded one at a time; a broken one becomes an SR600 diagnostic naming the
    plugin and its version instead of stopping segrules.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    infos: list[PluginInfo] = []
    problems: list[Diagnostic] = []
    if load_entrypoints:
        # Built-in plugins share one distribution: read its metadata (parsed on every access) once.
        named: dict[str, tuple[str, str | None]] = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            dist = getattr(ep, "dist", None)
            if dist is not None:
                where = str(getattr(dist, "_path", id(dist)))
                if where not in named:
                    meta = dist.metadata
                    named[where] = (meta["Name"], meta["Version"])
                dist_name, version = named[where]
            else:
                dist_name, version = None, None
            label = f"{ep.name} ({dist_name} {version})" if dist else ep.name
            try:
                module = ep.load()
                if pm.is_registered(module) or pm.has_plugin(ep.name):
                    continue
                pm.register(module, name=ep.name)
            except Exception as exc:  # a broken third-party plugin must not stop segrules
                problems.append(Diagnostic(
                    "SR600", f"plugin {label} failed to load: {type(exc).__name__}: {exc}",
                    source=ep.name))
                continue
            infos.append(PluginInfo(ep.name, version, ep.value, _hooks(pm, module)))
    for plugin in plugins:
        name = getattr(plugin, "__name__", None) or type(plugin).__name__
        if pm.is_registered(plugin):
            continue  # already loaded through its entry point
        if pm.has_plugin(name):
            raise PluginError(f"two plugins are named {name!r}", code="SR605")
        pm.register(plugin, name=name)
        infos.append(PluginInfo(name, None, name, _hooks(pm, plugin)))
    return pm, infos, problems


def _hooks(pm: pluggy.PluginManager, plugin: object) -> list[str]:
    return sorted(caller.name for caller in pm.get_hookcallers(plugin) or [])
