"""The command line is one package (segrules/cli/): the built-in commands it lists, the plugin
commands it adds, and the ways it is started (console script, ``python -m segrules.cli``)."""

import subprocess
import sys
from importlib.metadata import entry_points

import click
from click.testing import CliRunner

from segrules.cli import main
from segrules.cli.app import BUILTIN, builtin_command


def test_cli_package_builtin_commands_resolve_by_name():
    for name in BUILTIN:
        command = builtin_command(name)
        assert isinstance(command, click.Command) and command.name == name


def test_cli_package_lists_builtin_and_plugin_commands():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.strip()}
    assert set(BUILTIN) <= listed
    assert {"rfm", "mece", "audit", "funnel", "cohort"} <= listed  # from the built-in plugins


def test_cli_package_plugin_command_runs():
    result = CliRunner().invoke(main, ["rfm", "--help"])
    assert result.exit_code == 0 and "Usage: main rfm" in result.output


def test_cli_package_unknown_command_exit_2():
    result = CliRunner().invoke(main, ["nope"])
    assert result.exit_code == 2 and "No such command 'nope'" in result.output


def test_cli_package_console_script_is_the_package_entry():
    [script] = [ep for ep in entry_points(group="console_scripts") if ep.name == "segrules"]
    assert script.value == "segrules.cli:entry"
    assert script.load() is __import__("segrules.cli", fromlist=["entry"]).entry


def test_cli_package_runs_as_module():
    done = subprocess.run([sys.executable, "-m", "segrules.cli", "--version"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "segrules, version 0.1.0"
