"""The apps reach the hall only through the contract: nothing in kiosk/ui imports the hall's own code or the
room that runs a hall in-process (kiosk/standalone imports the ui, never the reverse), and no API path is
spelled in the apps (they send typed requests by the route table). Read from the source with ``ast``, so a
lazy import inside a function counts as much as one at the top."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UI = ROOT / "kiosk" / "ui"
FORBIDDEN = ("kiosk.hall", "kiosk.standalone")


def imported(path: Path, package: str = "") -> list[tuple[int, str]]:
    """Every module a file imports, with its line (relative imports resolved against the file's package)."""
    package = package or ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def test_the_ui_imports_neither_the_hall_nor_the_standalone_room() -> None:
    offending = [f"{path.relative_to(ROOT)}:{line}: {name}"
                 for path in sorted(UI.rglob("*.py")) for line, name in imported(path)
                 if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)]
    assert offending == []


def test_the_import_walk_sees_a_lazy_import_of_the_hall(tmp_path: Path) -> None:
    """The check above would pass on anything if the walk missed imports inside functions, or relative ones."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f() -> None:\n    from kiosk.hall import context\n    import kiosk.standalone.embedded\n"
                      "    from ..hall import api\n")
    names = [name for _line, name in imported(sample, package="kiosk.ui")]
    assert names == ["kiosk.hall.context", "kiosk.standalone.embedded", "kiosk.hall.api"]


def test_no_api_path_is_spelled_in_the_apps() -> None:
    spelled = [f"{path.relative_to(ROOT)}:{n}" for path in sorted([*UI.rglob("*.py"), *UI.rglob("*.kv")])
               for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if "/api/v1" in line]
    assert spelled == []


def test_the_ui_is_a_folder_per_app() -> None:
    """A newcomer finds each app in its own package, and only what they share beside them."""
    for app in ("kiosk", "counter", "duty", "display"):
        assert (UI / app / "app.py").exists() and (UI / app / f"{app}.kv").exists() and (UI / app / "tour.py").exists()
    assert len(list(UI.glob("*.py"))) <= 12
    assert not (UI / "client.py").exists()  # the one client is kiosk/contract/client.py


def test_the_keypad_relay_runs_without_kivy() -> None:
    """The relay is driven as a plain process on the window PC's worker and in tests (tests/relay_child.py)."""
    code = ("import sys, kiosk.ui.counter.flows.rating as r; "
            "assert r.RatingRelay and r.RatingFlow; print(sorted(m for m in sys.modules if m.split('.')[0] == 'kivy'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
