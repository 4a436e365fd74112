"""Text that fits its box on any screen: a font size no larger than the design's at which each line fits
the box's width (or, for wrapping text, the wrapped lines fit its height). The estimate counts a CJK
character as one em and a Latin one as a little over half; the tours measure what was actually drawn
(tests/test_screen_sizes.py), so an estimate that is off shows there."""

from __future__ import annotations

import math
import re
from typing import Any

from kivy.metrics import dp

MARKUP = re.compile(r"\[/?[a-z]+(=[^\]]*)?\]")
LINE_HEIGHT = 1.5  # a line of text, as a share of its font size (Noto CJK's ascent and descent are large)
PAD = 16.0  # dp of room a button keeps around its text


def ems(line: str) -> float:
    return sum(1.0 if ord(c) >= 0x2E80 else 0.56 for c in line)


def fit(text: str, width: float, size: float) -> float:
    """The largest size ≤ ``size`` at which every line of ``text`` fits ``width``."""
    lines = MARKUP.sub("", text).split("\n")
    widest = max((ems(line) for line in lines), default=1.0)
    return float(max(dp(10), min(size, (width - dp(PAD)) / max(widest, 1.0))))


def fit_box(text: str, width: float, height: float, size: float, wrap: bool) -> float:
    """The largest size ≤ ``size`` at which ``text`` fits a ``width`` × ``height`` box (wrapped or not)."""
    paragraphs = MARKUP.sub("", text).split("\n")
    room_w, room_h = max(1.0, width - dp(PAD)), max(1.0, height - dp(PAD) / 2)
    s = size if wrap else fit(text, width, size)
    while s > dp(10):
        per_line = max(1, math.floor(room_w / s))  # whole characters: a line breaks before one that would not fit
        lines = (sum(max(1, math.ceil(ems(p) / per_line)) for p in paragraphs) if wrap else len(paragraphs))
        if lines * s * LINE_HEIGHT <= 0.9 * room_h:
            return float(s)
        s *= 0.92
    return float(dp(10))


def fit_wrapped(text: str, width: float, height: float, size: float) -> float:
    """For the .kv: a font size ≤ ``size`` at which wrapped ``text`` fits the box."""
    return fit_box(text, width, height, size, wrap=True)


def keep_fitting(widget: Any) -> Any:
    """A label made in Python keeps its design size where it fits, and shrinks where the screen is small."""
    widget.design_font_size = widget.font_size

    def refit(*_args: Any) -> None:
        wrap = widget.text_size[0] is not None
        widget.font_size = fit_box(widget.text, widget.width, widget.height, widget.design_font_size, wrap)

    widget.bind(size=refit, text=refit)
    return widget
