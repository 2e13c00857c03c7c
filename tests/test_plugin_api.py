"""The public plugin API: the built-in plugins (and the example plugin of the docs) import only
``segrules.plugin`` and the top-level ``segrules`` API; every name of ``segrules.plugin.__all__``
resolves; loading ``segrules.plugin`` does not load what its lazy names need."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import segrules
import segrules.plugin
from segrules.errors import SpecError
from segrules.params import parse_params

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_FILES = sorted((ROOT / "plugins").rglob("*.py")) + [ROOT / "docs" / "examples" / "example_plugin.py"]


def forbidden_uses(source: str) -> list[str]:
    """What ``source`` takes from segrules besides ``segrules.plugin`` and ``segrules.__all__``:
    ``import segrules.x``, ``from segrules.x import y``, ``from segrules import private``, and
    ``segrules.private`` on the bare module."""
    problems = []
    public = set(segrules.__all__)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            problems += [f"line {node.lineno}: import {n.name}" for n in node.names
                         if n.name.startswith("segrules.") and n.name != "segrules.plugin"]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.startswith("segrules.") and node.module != "segrules.plugin":
                problems.append(f"line {node.lineno}: from {node.module} import ...")
            elif node.module == "segrules":
                problems += [f"line {node.lineno}: from segrules import {n.name}" for n in node.names
                             if n.name not in public and n.name != "plugin"]
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "segrules" \
                and node.attr not in public and node.attr != "plugin":
            problems.append(f"line {node.lineno}: segrules.{node.attr}")
    return problems


@pytest.mark.parametrize("path", PLUGIN_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_plugin_api_plugins_import_only_the_public_api(path):
    assert forbidden_uses(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("source, problem", [
    ("from segrules.cli import parse_params", "line 1: from segrules.cli import ..."),
    ("import segrules.run.execute", "line 1: import segrules.run.execute"),
    ("import segrules\nsegrules.api.load('x')", "line 2: segrules.api"),
    ("from segrules import api", "line 1: from segrules import api"),
    ("def f():\n    from segrules.lang import ast", "line 2: from segrules.lang import ..."),
])
def test_plugin_api_rule_catches_private_imports(source, problem):
    assert forbidden_uses(source) == [problem]


def test_plugin_api_rule_allows_the_public_api():
    assert forbidden_uses("import segrules\nimport segrules.plugin\nfrom segrules import connect, load\n"
                          "from segrules.plugin import HttpClient, ast as a\nsegrules.load('x')") == []


def test_plugin_api_every_name_resolves():
    api = segrules.plugin
    assert len(api.__all__) == len(set(api.__all__))
    missing = [name for name in api.__all__ if getattr(api, name, None) is None]
    assert missing == []
    assert set(dir(api)) >= set(api.__all__)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        api.nope  # noqa: B018


def test_plugin_api_names_are_the_implementations():
    from segrules.lang import ast as lang_ast
    from segrules.sync.http import HttpClient
    api = segrules.plugin
    assert api.HttpClient is HttpClient and api.ast is lang_ast and api.SpecError is segrules.SpecError
    assert api.parse_params is parse_params


def test_plugin_api_import_is_light():
    """The HTTP toolkit (httpx) and the other lazy names load on first use, not with segrules.plugin."""
    code = ("import sys, segrules.plugin as p\n"
            "print(sorted(m for m in ('segrules.sync.http', 'httpx', 'segrules.params',"
            " 'segrules.formats', 'segrules.spec.sections') if m in sys.modules))\n"
            "p.parse_params\nprint('segrules.params' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "True"


def test_params_parse_name_value_pairs():
    assert parse_params(("min=3", " tier =gold=x", "min=4")) == {"min": "4", "tier": "gold=x"}
    assert parse_params(()) == {}


def test_params_item_without_equals_is_sr110():
    with pytest.raises(SpecError) as info:
        parse_params(["min3"])
    assert info.value.diagnostics[0].code == "SR110" and "expected NAME=VALUE" in str(info.value)
