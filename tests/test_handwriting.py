"""Handwriting recognition with the installed zinnia model: characters written as a finger would, stroke
by stroke, are among the first five candidates."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from kiosk.ui.input.handwriting import Recognizer, Stroke


def line(x0: float, y0: float, x1: float, y1: float, steps: int = 12) -> Stroke:
    """A finger's stroke: points along the line, slightly wobbly as a finger is."""
    return [(x0 + (x1 - x0) * t / steps + 2 * math.sin(t), y0 + (y1 - y0) * t / steps + 2 * math.cos(t))
            for t in range(steps + 1)]


# pad coordinates, 300 × 300, y downwards; strokes in the standard order
CHARACTERS: dict[str, list[Stroke]] = {
    "一": [line(40, 150, 260, 150)],
    "二": [line(80, 100, 220, 100), line(40, 220, 260, 220)],
    "三": [line(70, 60, 230, 60), line(90, 150, 210, 150), line(40, 245, 260, 245)],
    "十": [line(40, 140, 260, 140), line(150, 30, 150, 270)],
    "口": [line(60, 60, 60, 240), line(60, 60, 240, 60) + line(240, 60, 240, 240), line(60, 240, 240, 240)],
    "日": [line(80, 40, 80, 260), line(80, 40, 220, 40) + line(220, 40, 220, 260), line(80, 150, 220, 150),
          line(80, 260, 220, 260)],
    "土": [line(60, 120, 240, 120), line(150, 40, 150, 250), line(30, 250, 270, 250)],
}


@pytest.fixture(scope="module")
def recognizer() -> Recognizer:
    found = Recognizer.open()
    assert found is not None, "zinnia and its model are installed by the set-up (scripts/setup.sh)"
    return found


@pytest.mark.parametrize("character", sorted(CHARACTERS))
def test_a_written_character_is_among_the_first_five(recognizer: Recognizer, character: str) -> None:
    candidates = recognizer.classify(CHARACTERS[character], 300, 300)
    assert character in candidates[:5], candidates


def test_the_size_of_the_pad_does_not_matter(recognizer: Recognizer) -> None:
    """A pad twice as large (a portrait kiosk) gives the same answer for the same shape."""
    doubled = [[(x * 2, y * 2) for x, y in s] for s in CHARACTERS["十"]]
    assert recognizer.classify(doubled, 600, 600)[:1] == ["十"]


def test_nothing_written_is_no_candidates(recognizer: Recognizer) -> None:
    assert recognizer.classify([], 300, 300) == []


def test_a_missing_model_is_said_not_a_crash(tmp_path: Path) -> None:
    assert Recognizer.open(tmp_path / "none.model") is None
