"""The import graph of the ``segrules`` package, read from the source with ``ast`` (nothing is
imported): every ``import`` statement, at module level or inside a function, is an edge — a
function-level import still runs, and two modules that reach for each other that way are one
module in two files. The one exception: imports under ``if TYPE_CHECKING:``, which never run.
A package's lazy exports (a module-level ``LAZY = {name: ".module"}``, segrules/lazy.py) are
imports of those modules too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "segrules"


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of the package."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """The absolute name of a relative import ``from ..name import`` inside ``module``."""
    base = module.split(".")
    if not is_package:
        base.pop()  # a module's own package is level 1
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([name] if name else []))


def imports(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of the package that ``module`` imports, anywhere in its source.

    ``from pkg import name`` is an edge to the submodule ``pkg.name`` when there is one, else to
    ``pkg``. The parent packages Python runs first (``pkg/__init__.py`` for ``pkg.sub``) are not
    edges: a package that re-exports its submodules does not make them depend on each other."""
    found: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    for node in _executed(tree):
        if _is_lazy_table(node):
            for value in node.value.values:
                dots = len(value.value) - len(value.value.lstrip("."))
                found.add(_absolute(module, is_package, dots, value.value[dots:]))
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (_absolute(module, is_package, node.level, node.module) if node.level else node.module or "")
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import segrules.run.execute as x` -> the module
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


def _is_lazy_table(node: ast.AST) -> bool:
    return (isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["LAZY"]
            and isinstance(node.value, ast.Dict)
            and all(isinstance(v, ast.Constant) and isinstance(v.value, str) for v in node.value.values))


def _type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _executed(tree: ast.AST):
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` (their ``else`` runs)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if _type_checking(node):
            todo.extend(node.orelse)
            todo.append(node.test)
        else:
            todo.extend(ast.iter_child_nodes(node))


def graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imports(name, path, modules) for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:  # iterative: the graph is deep enough for Python's recursion limit
        work = [(start, iter(sorted(edges.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))

    for name in sorted(edges):
        if name not in index:
            visit(name)
    return found


def path_between(edges: dict[str, set[str]], start: str, goal: str, within: set[str]) -> list[str]:
    """A shortest import path from ``start`` to ``goal`` through ``within`` (to show a cycle)."""
    previous = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for child in sorted(edges.get(node, ())):
            if child in within and child not in previous:
                previous[child] = node
                queue.append(child)
    chain, node = [], goal
    while node is not None:
        chain.append(node)
        node = previous.get(node)
    return chain[::-1]
