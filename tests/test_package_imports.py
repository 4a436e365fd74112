"""The house drawn from its own imports: no side entrance into the hall, and no circle between kiosk's packages.

Every import counts, also one inside a function or under TYPE_CHECKING: a lazy import is still a dependency
(it is only paid later), and a circle through one is still a circle a reader has to untie.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.helpers import ROOT

KIOSK = ROOT / "kiosk"


def imported_modules(path: Path) -> Iterator[str]:
    """The dotted names of the modules a file imports (``from kiosk import x`` names ``kiosk.x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's own package, up level - 1
                parts = package.split(".")
                base = ".".join([*parts[: len(parts) - node.level + 1], *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def node_of(module: str) -> str | None:
    """The first-level child of kiosk/ a module belongs to (a top-level module is its own node)."""
    parts = module.split(".")
    if parts[0] != "kiosk" or len(parts) < 2:
        return None
    return parts[1] if (KIOSK / parts[1]).is_dir() or (KIOSK / f"{parts[1]}.py").is_file() else None


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(KIOSK.rglob("*.py")):
        rel = path.relative_to(KIOSK).parts
        if rel == ("__init__.py",):
            continue
        source = rel[0].removesuffix(".py")
        targets = graph.setdefault(source, set())
        for module in imported_modules(path):
            target = node_of(module)
            if target is not None and target != source:
                targets.add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One circle of the graph as the path that closes it (a, b, …, a), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def imports_into(folder: Path, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in sorted(folder.rglob("*.py")):
        for module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                out.append(f"{path.relative_to(ROOT)} imports {module}")
    return sorted(set(out))


def test_the_drill_and_sync_reach_the_hall_only_through_the_contract() -> None:
    """The drill plays a day as devices do (HallClient over HTTP) and sync pushes an outbox it is given: neither
    opens the hall's modules, nor the room that wires a hall in-process."""
    for room in ("drill", "sync"):
        assert imports_into(KIOSK / room, ("kiosk.hall", "kiosk.standalone")) == [], room


def test_kiosks_packages_import_each_other_one_way() -> None:
    graph = package_graph()
    assert {"drill", "hall", "contract", "config_files", "standalone"} <= set(graph)  # the walk saw the house
    assert "config_files" in graph["drill"] and "sync" in graph["hall"]  # and its arrows, lazy ones too
    cycle = find_cycle(graph)
    assert cycle is None, "a circle between kiosk's packages: " + " -> ".join(cycle or [])


def test_the_cycle_finder_names_a_circle() -> None:
    """The check above can fail: a circle is found and named, a one-way graph passes."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"a", "c"}}) is None


def path_literals(folder: Path) -> list[str]:
    """String constants that spell a path of the hall's API or its phone page (docstrings and comments aside)."""
    out = []
    for path in sorted(folder.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                      and node.body and isinstance(node.body[0], ast.Expr)
                      and isinstance(node.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
                    and any(node.value.startswith(p) for p in ("/api/", "/q", "/health"))):
                out.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}")
    return out


def test_the_drill_spells_no_path_of_the_hall() -> None:
    """The drill's devices send typed requests (HallClient.send, routed by kiosk/contract/routes.py), so a path
    changed in the table is a path changed for the drill too."""
    assert path_literals(KIOSK / "drill") == []


def methods_carried() -> dict[str, int]:
    """Each class of the product with the methods it carries: its own and those of the product's classes it
    inherits from (mixins counted; an override counts in both, as a reader meets both)."""
    classes: dict[str, tuple[int, list[str]]] = {}
    for path in [*KIOSK.rglob("*.py"), *(ROOT / "drivers").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                own = sum(isinstance(x, ast.FunctionDef | ast.AsyncFunctionDef) for x in node.body)
                classes[node.name] = (own, [ast.unparse(b) for b in node.bases])

    def carried(name: str) -> int:
        own, bases = classes[name]
        return own + sum(carried(b) for b in bases if b in classes and b != name)

    return {name: carried(name) for name in classes}


def test_no_class_of_the_product_carries_more_than_40_methods() -> None:
    """The hall is functions over a context, not one object; an app's shell hands its work to flows."""
    carried = methods_carried()
    assert {name: n for name, n in carried.items() if n > 40} == {}
    assert carried["KioskApp"] > carried["HallApp"] > 5  # the count sees inheritance
