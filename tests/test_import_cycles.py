"""No import cycles among the repository's own modules, found by walking every module's imports (AST).

Every import counts, also those under ``if TYPE_CHECKING:`` and inside functions: a cycle that only type
checking or a late import hides is still two modules that cannot be read (or split) one without the other.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

from devstack.paths import REPO_ROOT

SKIPPED_DIRS = {".venv", ".git", "node_modules", "__pycache__", ".devstack", ".ruff_cache", ".pytest_cache"}


def _python_files(root: Path) -> Iterator[Path]:
    """Every .py file below ``root``, never descending into skipped or hidden folders (.venv alone holds
    tens of thousands of files)."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.startswith(".")]
        yield from (Path(folder) / name for name in files if name.endswith(".py"))


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every Python file of the repository (packages by their __init__)."""
    modules: dict[str, Path] = {}
    for path in sorted(_python_files(root)):
        relative = path.relative_to(root)
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        if parts and all(part.isidentifier() for part in parts):
            modules[".".join(parts)] = path
    return modules


def _imported_modules(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """Repository modules that ``module`` imports (``from x import y``: ``x.y`` if a module, else ``x``)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".") if package else []
                parts = parts[: len(parts) - (node.level - 1)]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return {name for name in found if name in modules and name != module}


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the repository modules it imports (itself excluded)."""
    files = module_files(root)
    names = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        graph[name] = _imported_modules(tree, name, path.name == "__init__.py", names)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
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

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_the_repository_has_no_import_cycles() -> None:
    graph = import_graph(REPO_ROOT)
    assert "devstack.host.engine" in graph and "core" in graph  # the walk found the code
    found = cycles(graph)
    assert not found, "modules that import each other (directly or around a loop):\n" + "\n".join(
        " <-> ".join(component) for component in found
    )


def test_the_cycle_finder_finds_a_loop_and_only_the_loop() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_relative_and_type_checking_imports_are_edges(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "one.py").write_text("from .two import thing\n")
    (package / "two.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import one\nthing = 1\n"
    )
    graph = import_graph(tmp_path)
    assert graph["pkg.one"] == {"pkg.two"}
    assert graph["pkg.two"] == {"pkg.one"}
    assert cycles(graph) == [["pkg.one", "pkg.two"]]
