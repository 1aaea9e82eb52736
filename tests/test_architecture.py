"""The layout is the architecture: features <- models <- serve, serve's own layers one way,
no import circles anywhere, packages that say what they are, and lint is clean."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
PACKAGES = ("features", "models", "serve")
FORBIDDEN = {"features": {"models", "serve"}, "models": {"serve"}}

SERVE_LAYERS = (
    ("serve.playbook",),  # the playbook's schema and default actions
    ("serve.settings",),  # the one settings object, which holds the playbook
    ("serve.batch", "serve.store"),  # what is computed; what people record (SQL)
    ("serve.service",),  # the served state and its documents
    ("serve.web",),  # HTTP pieces the API and the dashboard share
    ("serve.api", "serve.dashboard", "serve.notify"),  # delivery
    ("serve.app", "serve.cli"),  # entry points
)
"""serve's parts, lowest first: a module may import its own part's and lower parts'
modules, never a higher part's; parts on one line do not import each other."""


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def module_files() -> dict[str, Path]:
    """Every module of the three packages by its dotted name (a package by its own)."""
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def import_graph(files: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project's modules it imports, anywhere in it (inside functions too:
    a lazy import is still a dependency). `from a.b import c` names the module a.b.c when
    there is one, else a.b."""
    graph = {}
    for name, path in files.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    found.add(full if full in files else node.module)
        graph[name] = {m for m in found if m in files and m != name}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def layer_of(module: str) -> int | None:
    for level, parts in enumerate(SERVE_LAYERS):
        if any(module == p or module.startswith(p + ".") for p in parts):
            return level
    return None


def part_of(module: str) -> str | None:
    return next((p for parts in SERVE_LAYERS for p in parts
                 if module == p or module.startswith(p + ".")), None)


def layer_breaches(graph: dict[str, set[str]]) -> list[str]:
    """Imports inside serve that go up a layer, or across between parts of one layer."""
    out = []
    for module, targets in graph.items():
        if not module.startswith("serve."):
            continue
        mine = layer_of(module)
        for target in sorted(targets):
            if not target.startswith("serve.") or mine is None:
                continue
            theirs = layer_of(target)
            if theirs is None or theirs > mine or (
                    theirs == mine and part_of(target) != part_of(module)):
                out.append(f"{module} -> {target}")
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependencies_flow_one_way(package):
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_no_import_circles():
    assert circles(import_graph(module_files())) == []


def test_circles_are_found():
    """The check above can fail: a made-up graph with a circle of three and a loose end."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert circles(graph) == [["a", "b", "c"]]


def test_every_serve_module_has_a_layer():
    files = module_files()
    unplaced = [m for m in files if m.startswith("serve.") and layer_of(m) is None]
    assert unplaced == []


def test_serve_layers_flow_one_way():
    """Delivery (API, dashboard, CLI) imports computing, never the reverse; the API and the
    dashboard take their documents from serve.service, not from each other."""
    assert layer_breaches(import_graph(module_files())) == []


def test_layer_breaches_are_found():
    graph = {"serve.batch.scoring": {"serve.api.routes.risk", "serve.settings"},
             "serve.dashboard.base": {"serve.api.deps", "serve.service.state"},
             "serve.api.routes.risk": {"serve.service.risk"}}
    assert layer_breaches(graph) == ["serve.batch.scoring -> serve.api.routes.risk",
                                     "serve.dashboard.base -> serve.api.deps"]


def test_every_package_says_what_it_is():
    """Each package's docstring describes it as it is today (no "(next)" promises)."""
    for init in sorted(p for package in PACKAGES for p in (ROOT / package).rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        where = init.relative_to(ROOT)
        assert doc and len(doc) > 40, f"{where}: no docstring saying what the package is"
        assert "(next)" not in doc, f"{where}: describes what is not there yet"


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: ./run test installs it with the dev extras")
    result = subprocess.run([ruff, "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
