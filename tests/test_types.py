"""Type checking: ``mypy --strict`` on segrules/lang, check, compile and plugin (the configuration is
``[tool.mypy]`` in pyproject.toml), run as docs/testing.md ("Type checking") shows it, so the README's
test command, which is what .ci/run runs, fails on a type error with mypy's own report."""

import ast
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent
STRICT_PACKAGES = ("lang", "check", "compile", "plugin")


def _documented() -> tuple[str, str]:
    """The command and the output docs/testing.md shows under "Type checking"."""
    docs = (ROOT / "docs" / "testing.md").read_text(encoding="utf-8")
    section = docs[docs.index("## Type checking"):]
    command = re.search(r"```sh\n(\.venv/bin/mypy[^\n]*)\n```", section).group(1)
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    return command, shown


def _mypy_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy"]


def test_types_mypy_strict_passes_as_documented():
    """The documented command (with this interpreter's mypy, as .venv/bin/mypy is in CI) finds no
    error, and prints what the docs show."""
    command, shown = _documented()
    done = subprocess.run([sys.executable, "-m", "mypy", *shlex.split(command)[1:]], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"mypy found type errors:\n{done.stdout}{done.stderr}"
    assert done.stdout == shown, (done.stdout, shown)


def test_types_config_is_strict_on_the_four_packages():
    """``strict = true`` cannot be set per module (in an override mypy applies it to every module),
    so the override spells out the flags --strict sets: every one of them, with --strict's value,
    and the two global-only ones in [tool.mypy]; ``files`` and the override name the same packages."""
    from mypy.main import define_options
    from mypy.options import PER_MODULE_OPTIONS

    config = _mypy_config()
    strict = [o for o in config["overrides"] if "segrules.lang.*" in o["module"]]
    assert len(strict) == 1, config["overrides"]
    override = strict[0]
    assert sorted(override["module"]) == sorted(f"segrules.{p}.*" for p in STRICT_PACKAGES)
    assert sorted(config["files"]) == sorted(f"segrules/{p}" for p in STRICT_PACKAGES)
    _, _, strict_flags = define_options()
    assert len(strict_flags) >= 10, strict_flags
    for dest, value in strict_flags:
        where = override if dest in PER_MODULE_OPTIONS else config
        assert where.get(dest) == value, f"{dest} = {value} is missing from the strict configuration"


def _lazy_names(tree: ast.Module) -> set[str]:
    """The names a package's ``LAZY`` (name -> module) or ``_LAZY`` (module -> names) dict exports."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Dict):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id in ("LAZY", "_LAZY") for t in targets):
                for key, value in zip(node.value.keys, node.value.values):
                    if isinstance(value, ast.Tuple):
                        names.update(e.value for e in value.elts if isinstance(e, ast.Constant))
                    elif isinstance(key, ast.Constant):
                        names.add(key.value)
    return names


def _type_checking_imports(tree: ast.Module) -> set[str]:
    return {alias.asname or alias.name for node in tree.body
            if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING"
            for imp in node.body if isinstance(imp, (ast.Import, ast.ImportFrom)) for alias in imp.names}


def test_types_lazy_exports_are_visible_to_mypy():
    """A strict package whose names load on first use (PEP 562: a LAZY dict and a module
    ``__getattr__``) imports them under ``if TYPE_CHECKING:`` too; without that, mypy types every
    ``from segrules.check import CheckedSpec`` as Any and checks nothing that uses it."""
    lazy = {}
    for package in STRICT_PACKAGES:
        tree = ast.parse((ROOT / "segrules" / package / "__init__.py").read_text(encoding="utf-8"))
        names = _lazy_names(tree)
        if names:
            lazy[package] = names - _type_checking_imports(tree)
    assert {"check", "compile", "plugin"} <= set(lazy)  # the packages that load names lazily today
    assert all(not missing for missing in lazy.values()), lazy
