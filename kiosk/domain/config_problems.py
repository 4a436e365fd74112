"""What is wrong with a configuration file, told to the technician who installs the hall.

Shared by every file the product reads (the hall and its catalog here; a terminal's devices.toml in
drivers/devices_config.py; drill scenarios in kiosk/drill/scenario.py), so that a problem reads the same
wherever it is found: the file, the key as the file shows it, what was expected and what was there, in
Chinese first and English beside it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from kiosk.domain.errors import KioskError


@dataclass(frozen=True)
class ConfigProblem:
    """One problem; the parser collects all of them, not just the first, so that one round of edits fixes
    a file."""

    file: str
    key: str
    expected: str
    expected_en: str
    got: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.key}: 应为{self.expected}，实际为 {self.got} / "
            f"expected {self.expected_en}, got {self.got}"
        )


class ConfigInvalid(KioskError):
    """Raised with every problem of a hall's files; the CLI prints them one a line and exits 2."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def did_you_mean(key: str, known: Iterable[str]) -> tuple[str, str]:
    """The hint after an unknown key, in every file the product reads (hall, catalog, devices, drills):
    the nearest known key, or the list of them."""
    keys = list(known)
    near = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
    if near:
        return f"（是否想写 {near[0]}？）", f" (did you mean {near[0]}?)"
    return f"（可用：{', '.join(keys)}）", f" (known: {', '.join(keys)})"
