"""The layers and their imports, read from the source with `ast`: every import counts, at module
level, inside a function or under TYPE_CHECKING alike (each would be a cycle the day someone
moves it)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "commands", "explorer")


# The one known cycle: explorer.contract imports budget, encoding and exploration for its types,
# and they (through models, words and drawing) import the contract back.
# removed by the live-reply change
@cache
def modules() -> dict[str, Path]:
    """Every module of the three packages, by dotted name."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported_names(module: str, path: Path) -> Iterator[str]:
    """The dotted names a module imports, relative imports resolved; `from a import b` gives
    `a.b` (a submodule or a name in `a`)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            yield from (f"{source}.{alias.name}" for alias in node.names)


def project_module(name: str) -> str | None:
    """The project's module a dotted name lies in (the longest prefix that is one), or None."""
    parts = name.split(".")
    while parts:
        if ".".join(parts) in modules():
            return ".".join(parts)
        parts.pop()
    return None


@cache
def import_graph() -> dict[str, frozenset[str]]:
    """Each project module → the project modules it imports."""
    graph = {}
    for module, path in modules().items():
        targets = {project_module(name) for name in imported_names(module, path)}
        graph[module] = frozenset(t for t in targets if t is not None and t != module)
    return graph


def strongly_connected(graph: dict[str, frozenset[str]]) -> list[frozenset[str]]:
    """The groups of modules that import each other, directly or around (Tarjan), each of two
    or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = {stack.pop()}
            while node not in group:
                group.add(stack.pop())
            if len(group) > 1:
                groups.append(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def a_cycle(graph: dict[str, frozenset[str]], group: frozenset[str]) -> list[str]:
    """One concrete cycle through the group, as a path that ends where it starts."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        node = frontier.pop(0)
        for target in sorted(graph[node] & group):
            if target == start:
                return [*paths[node], start]
            if target not in paths:
                paths[target] = [*paths[node], target]
                frontier.append(target)
    raise AssertionError(f"no cycle through {start}")


def describe(group: frozenset[str]) -> str:
    """A cycle, readably."""
    return " → ".join(a_cycle(import_graph(), group))


def test_no_import_cycles() -> None:
    cycles = [describe(group) for group in strongly_connected(import_graph())]
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_cycle_finder_finds_cycles_through_any_import() -> None:
    graph = {
        "a": frozenset({"b"}),
        "b": frozenset({"c"}),
        "c": frozenset({"a", "d"}),
        "d": frozenset(),
    }
    assert strongly_connected(graph) == [frozenset({"a", "b", "c"})]
    assert a_cycle(graph, frozenset({"a", "b", "c"})) == ["a", "b", "c", "a"]


def test_imports_inside_functions_and_type_checking_count(tmp_path: Path) -> None:
    source = tmp_path / "sample.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from .contract import Reply\n"
        "def late():\n    import explorer.forward\n    from . import words\n"
    )
    assert set(imported_names("explorer.sample", source)) == {
        "typing.TYPE_CHECKING",
        "explorer.contract.Reply",
        "explorer.forward",
        "explorer.words",
    }


def outside_imports(package: str) -> set[str]:
    """The top-level packages (and project packages) a package's modules import."""
    found = set()
    for module, path in modules().items():
        if module.split(".")[0] == package:
            found |= {name.split(".")[0] for name in imported_names(module, path)}
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [
        ("explorer", {"bot", "commands", "discord"}),
        ("commands", {"bot", "discord"}),
    ],
)
def test_layers(package: str, forbidden: set[str]) -> None:
    # Only bot/ speaks Discord; commands/ are the features, explorer/ the core they share.
    assert not outside_imports(package) & forbidden


def test_bot_is_where_discord_is_used() -> None:
    assert "discord" in outside_imports("bot")
