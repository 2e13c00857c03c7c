"""The layering of the ``segrules`` package, read from its source (tests/import_graph.py): no
import cycle between modules, and nothing below the command line imports it."""

import pytest

from import_graph import cycles, graph, path_between


@pytest.fixture(scope="module")
def edges():
    """The graph, with the one import the source does not spell out: the command group imports
    each built-in command's module by name when the command is called."""
    from segrules.cli.app import BUILTIN
    found = graph()
    found["segrules.cli.app"] |= {f"segrules.cli.{target.partition(':')[0]}" for target in BUILTIN.values()}
    return found


def test_imports_graph_has_no_cycle(edges):
    found = cycles(edges)
    shown = []
    for component in found:
        members = set(component)
        first = component[0]
        back = next(iter(sorted(edges[first] & members)))
        shown.append(" -> ".join(path_between(edges, first, back, members)[:-1]
                                 + path_between(edges, back, first, members)))
    assert not found, "import cycles:\n" + "\n".join(shown)


def test_imports_graph_nothing_below_the_cli_imports_it(edges):
    offenders = {module: sorted(t for t in targets if t == "segrules.cli" or t.startswith("segrules.cli."))
                 for module, targets in edges.items() if not module.startswith("segrules.cli")}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_imports_graph_sees_function_level_and_relative_imports(edges):
    """The reader itself: a relative import inside a function is an edge (cli.run imports the
    history session only when --snapshot is given), and the CLI package is in the graph."""
    assert "segrules.history.session" in edges["segrules.cli.run"]
    assert "segrules.api" in edges["segrules.cli.check"]
    assert {"segrules.api", "segrules.errors", "segrules.run.connect"} <= edges["segrules"]  # LAZY tables
    assert {"segrules.check.analyze", "segrules.spec.expressions"} <= edges["segrules.check"]
    assert {"segrules.cli", "segrules.cli.app", "segrules.cli.sync"} <= set(edges)


def test_imports_graph_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_graph_ignores_type_checking_blocks(tmp_path):
    from import_graph import imports
    source = tmp_path / "mod.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import b\n"
                      "else:\n    from pkg import c\ndef f():\n    from . import d\n", encoding="utf-8")
    modules = {"pkg.mod": source, "pkg.b": source, "pkg.c": source, "pkg.d": source, "pkg": source}
    assert imports("pkg.mod", source, modules) == {"pkg.c", "pkg.d"}


def test_imports_graph_plugins_do_not_import_the_cli():
    from import_graph import ROOT
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "plugins").rglob("*.py"))
                 if "segrules.cli" in p.read_text(encoding="utf-8")]
    assert offenders == []
