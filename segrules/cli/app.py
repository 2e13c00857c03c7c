"""The ``segrules`` group: built-in commands are imported when they are called (``--version``
imports none of them), plugin commands (``register_commands``) are added when a name is not
built in or the commands are listed."""

from __future__ import annotations

import gc
from importlib import import_module

import click

from .. import __version__
from ..diagnostics import Diagnostic, Severity, render
from ..errors import SegrulesError

# command name -> "module:attribute" inside this package: one module per command group
BUILTIN = {
    "validate": "check:validate",
    "compile": "compile:compile_command",
    "debug": "debug:debug_command",
    "run": "run:run",
    "preview": "run:preview",
    "test": "testing:test_command",
    "changes": "history:changes_command",
    "plan": "history:plan_command",
    "backfill": "history:backfill_command",
    "sync": "sync:sync_command",
    "sync-log": "sync:sync_log_command",
    "schema": "info:schema",
    "plugins": "info:plugins",
    "demo-data": "info:demo_data",
}


def builtin_command(name: str) -> click.Command:
    module, _, attribute = BUILTIN[name].partition(":")
    return getattr(import_module(f"{__package__}.{module}"), attribute)


class SegrulesGroup(click.Group):
    """Built-in commands from :data:`BUILTIN`, imported on first use; plugin commands added from
    the plugin registry when they are first needed."""

    def _plugins_loaded(self):
        if getattr(self, "_loaded", False):
            return
        self._loaded = True
        from .console import show_diagnostics
        from .registry import load_registry
        try:
            registry = load_registry()
            commands = registry.commands
        except SegrulesError as exc:
            show_diagnostics(exc.render())
            return
        for name, command in commands.items():
            if name in BUILTIN:
                plugin = registry.owner.get(("commands", name), "?")
                show_diagnostics(render(Diagnostic(
                    "SR604", f"command {name!r} is registered by both segrules (built-in) and {plugin}; "
                    "the plugin's command is not added", severity=Severity.WARNING)))
                continue
            self.add_command(command, name)

    def list_commands(self, ctx):
        self._plugins_loaded()
        return sorted({*BUILTIN, *self.commands})

    def resolve_command(self, ctx, args):
        """The command, with the project's ``defaults:`` for it (segrules.yml found from the
        current folder) as its option defaults (click's ``default_map``)."""
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            from .console import user_errors
            with user_errors():
                from ..project import load_project
                project = load_project()
                if project is not None and project.model.defaults:
                    from ..project.options import command_defaults
                    self._plugins_loaded()
                    known = {n: self.get_command(ctx, n) for n in self.list_commands(ctx)}
                    ctx.default_map = {**command_defaults(project, known), **(ctx.default_map or {})}
        return name, command, rest

    def get_command(self, ctx, name):
        if name in BUILTIN:
            return builtin_command(name)
        self._plugins_loaded()
        return super().get_command(ctx, name)


@click.group(cls=SegrulesGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="segrules")
def main():
    """Declarative customer segmentation: YAML segment specs, compiled to one query, run on
    DuckDB or any Ibis backend."""


def entry() -> None:
    """The ``segrules`` console script, one command per process. The objects created by importing
    segrules and its dependencies live as long as the process, so they are moved out of the
    garbage collector's view (``gc.freeze``) now and again once the plugins are loaded
    (:func:`.registry.load_registry`): otherwise every full collection walks them again while the
    plan is built."""
    from .registry import FREEZE_IMPORTS
    gc.freeze()
    FREEZE_IMPORTS["after_registry"] = True
    main()
