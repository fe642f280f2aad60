"""The import graph of the package: rooms import downwards only (no folder-level loops) and the room rules hold."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("oceansar_hf", "training", "conversion")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Project modules imported by `path` (absolute and relative imports, lazy ones inside functions included)."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] in PACKAGES and name not in PACKAGES}


def _folder(module: str) -> str:
    """The room of a module, as ARCHITECTURE.md draws them: `oceansar_hf` and `conversion` are one room each; in
    `training`, each sub-folder is a room (`training.data.readers` → `training.data`) and so is each top-level module
    (`training.trainer`)."""
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "training" and len(parts) > 1 else parts[0]


def _graph() -> dict[str, set[str]]:
    """folder → folders it imports (modules of the project only; a folder importing itself is not an edge)."""
    modules = {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        source = _folder(name)
        for target in _imports(path):
            while target and target not in modules and not (ROOT / Path(*target.split("."))).is_dir():
                target = target.rpartition(".")[0]  # `from .x import name` names a symbol, not a module
            if target and _folder(target) != source:
                edges.setdefault(source, set()).add(_folder(target))
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_no_room_level_import_loops():
    edges = _graph()
    assert edges, "the graph should not be empty"
    assert _cycles(edges) == []


def _importers_of(prefix: str) -> set[str]:
    return {source for source, targets in _graph().items() if any(t.startswith(prefix) for t in targets)}


@pytest.mark.parametrize(
    ("room", "forbidden"),
    [
        ("oceansar_hf", ("training", "conversion")),  # the public package stands alone (copied into Hub repos)
        ("training", ("conversion",)),
        ("conversion", ("training",)),  # installed under other names: no cross-package relative imports
        ("training.dino", ("training.data", "training.pruning", "training.probes")),  # tensors only
        ("training.data", ("training.dino", "training.pruning", "training.probes")),  # files and arrays only
        ("training.pruning", ("training.probes",)),
    ],
)
def test_room_rules(room, forbidden):
    edges = _graph()
    for source, targets in edges.items():
        if source == room or source.startswith(room + "."):
            bad = sorted(t for t in targets if t.startswith(forbidden))
            assert not bad, f"{source} imports {bad}"


def test_architecture_room_table_names_existing_modules():
    """Every path in ARCHITECTURE.md's room table exists, and every training module is in the table."""
    text = (ROOT / "ARCHITECTURE.md").read_text()
    table = text.split("## Rooms", 1)[1].split("\n## ", 1)[0]
    rooms = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    named = {path for cell in rooms for path in re.findall(r"`([\w/.]+)`", cell)}
    for path in named:
        assert (ROOT / path).exists(), f"ARCHITECTURE.md names {path}, which does not exist"
    modules = {str(p.relative_to(ROOT)) for p in (ROOT / "training").glob("*.py") if p.name != "__init__.py"}
    folders = {f"{p.relative_to(ROOT)}/" for p in (ROOT / "training").iterdir() if (p / "__init__.py").is_file()}
    missing = sorted((modules | folders) - named)
    assert not missing, f"ARCHITECTURE.md's room table misses {missing}"
