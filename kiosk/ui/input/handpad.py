"""手写板: a citizen writes a character with a finger; after each stroke the candidates are offered.

The pad draws the strokes as they are written, keeps them (undo one stroke, clear), and hands them to
the offline recognizer (kiosk/ui/input/handwriting.py). Without the model, the pad says so and pinyin remains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.graphics import Color, Line
from kivy.properties import StringProperty
from kivy.uix.label import Label

from kiosk.ui.input.handwriting import Recognizer, Stroke

_recognizer: Recognizer | None = None
_opened = False


def recognizer() -> Recognizer | None:
    """Opened once per process (the model takes a moment to load), on first use."""
    global _recognizer, _opened
    if not _opened:
        _opened = True
        _recognizer = Recognizer.open()
    return _recognizer


class HandPad(Label):
    """The writing area. Its text is the hint (or, without a model, why it cannot recognise)."""

    hint = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.strokes: list[Stroke] = []
        self._lines: list[Line] = []
        self.on_candidates: Callable[[list[str]], None] = lambda _c: None
        self.ink: tuple[float, float, float, float] = (0.1, 0.1, 0.1, 1.0)

    @property
    def available(self) -> bool:
        return recognizer() is not None

    def on_touch_down(self, touch: Any) -> bool:
        if not self.collide_point(*touch.pos) or not self.available:
            return False
        touch.grab(self)
        with self.canvas.after:
            Color(*self.ink)
            line = Line(points=[*touch.pos], width=4)
        self._lines.append(line)
        self.strokes.append([self._local(touch.pos)])
        return True

    def on_touch_move(self, touch: Any) -> bool:
        if touch.grab_current is not self:
            return False
        if self.collide_point(*touch.pos):
            self._lines[-1].points += [*touch.pos]
            self.strokes[-1].append(self._local(touch.pos))
        return True

    def on_touch_up(self, touch: Any) -> bool:
        if touch.grab_current is not self:
            return False
        touch.ungrab(self)
        self.recognise()
        return True

    def _local(self, pos: tuple[float, float]) -> tuple[float, float]:
        """Pad coordinates with y downwards, as the recognizer's model was trained."""
        return pos[0] - self.x, self.top - pos[1]

    def recognise(self) -> None:
        found = recognizer()
        self.on_candidates(found.classify(self.strokes, self.width, self.height) if found and self.strokes else [])

    def undo(self) -> None:
        if self.strokes:
            self.strokes.pop()
            self.canvas.after.remove(self._lines.pop())
            self.recognise()

    def clear(self) -> None:
        self.strokes.clear()
        self._lines.clear()
        self.canvas.after.clear()
        self.on_candidates([])
