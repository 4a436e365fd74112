"""The kiosk's colours by role, in two palettes: the usual one and high contrast (高对比度).

Every text is drawn in a role's colour on a role's background, so that the contrast of each pair can be
checked (tests/test_accessibility.py: at least 4.5:1 normally, 7:1 in high contrast, WCAG 2.1 AA and AAA,
the ratios GB/T 37668-2019 uses). High contrast is a palette of its own, not a bigger font: black ground,
white and yellow text, light buttons with black text.

The .kv files read ``app.palette["<role>"]`` (Kivy re-evaluates them when the palette changes); widgets made
in Python are painted with ``paint(widget, role)``, which tags them so that ``repaint`` can follow a switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kiosk.ui.fitting import keep_fitting

RGBA = tuple[float, float, float, float]

ROLES = ("primary", "key", "go", "alert", "warn", "accent", "neutral", "chip", "chosen", "demo", "candidate")


@dataclass(frozen=True)
class Palette:
    name: str
    background: RGBA  # every screen's ground
    text: RGBA  # body text on the ground
    heading: RGBA  # titles on the ground
    link: RGBA  # emphasised text on the ground (a ticket's number)
    warning: RGBA  # warning text on the ground
    muted: RGBA  # secondary text on the ground
    panel: RGBA  # the box that shows what is being typed
    on_panel: RGBA
    # buttons: a background and the text on it
    primary: RGBA  # the main actions
    on_primary: RGBA
    key: RGBA  # keys of the keypads and keyboards
    on_key: RGBA
    go: RGBA  # enquiry, information
    on_go: RGBA
    alert: RGBA  # 办不成事, submitting a report
    on_alert: RGBA
    warn: RGBA  # calling staff, the "not sure" helper
    on_warn: RGBA
    accent: RGBA  # rating
    on_accent: RGBA
    neutral: RGBA  # home, language, sizes
    on_neutral: RGBA
    chip: RGBA  # an option not chosen
    on_chip: RGBA
    chosen: RGBA  # an option chosen
    on_chosen: RGBA
    demo: RGBA  # the demo's sample ID cards
    on_demo: RGBA
    candidate: RGBA  # pinyin and handwriting candidates
    on_candidate: RGBA
    faces: tuple[RGBA, RGBA, RGBA, RGBA, RGBA]  # rating levels 5 … 1
    on_faces: RGBA

    def __getitem__(self, role: str) -> RGBA:
        """``app.palette["primary"]`` in .kv: Kivy re-evaluates a subscript when app.palette changes (it
        cannot watch an attribute of an object that is not one of its own)."""
        value: RGBA = getattr(self, role)
        return value

    def pairs(self) -> dict[str, tuple[RGBA, RGBA]]:
        """Every (text, background) pair the palette promises, by name."""
        out = {name: (getattr(self, name), self.background) for name in ("text", "heading", "link", "warning",
                                                                          "muted")}
        out["panel"] = (self.on_panel, self.panel)
        out.update({role: (getattr(self, "on_" + role), getattr(self, role)) for role in ROLES})
        out.update({f"face{5 - i}": (self.on_faces, face) for i, face in enumerate(self.faces)})
        return out


WHITE: RGBA = (1.0, 1.0, 1.0, 1.0)
BLACK: RGBA = (0.0, 0.0, 0.0, 1.0)
INK: RGBA = (0.1, 0.1, 0.1, 1.0)

NORMAL = Palette(
    name="normal", background=(0.96, 0.97, 0.99, 1.0), text=INK, heading=(0.08, 0.2, 0.4, 1.0),
    link=(0.08, 0.36, 0.72, 1.0), warning=(0.66, 0.16, 0.02, 1.0), muted=(0.33, 0.33, 0.38, 1.0),
    panel=WHITE, on_panel=INK,
    primary=(0.08, 0.36, 0.72, 1.0), on_primary=WHITE, key=(0.2, 0.24, 0.3, 1.0), on_key=WHITE,
    go=(0.05, 0.42, 0.28, 1.0), on_go=WHITE, alert=(0.7, 0.2, 0.15, 1.0), on_alert=WHITE,
    warn=(0.66, 0.3, 0.0, 1.0), on_warn=WHITE, accent=(0.55, 0.35, 0.05, 1.0), on_accent=WHITE,
    neutral=(0.3, 0.3, 0.34, 1.0), on_neutral=WHITE, chip=(0.38, 0.4, 0.45, 1.0), on_chip=WHITE,
    chosen=(0.66, 0.33, 0.02, 1.0), on_chosen=WHITE, demo=(0.45, 0.3, 0.6, 1.0), on_demo=WHITE,
    candidate=(0.95, 0.85, 0.55, 1.0), on_candidate=INK,
    faces=((0.05, 0.45, 0.2, 1.0), (0.22, 0.45, 0.1, 1.0), (0.45, 0.42, 0.05, 1.0), (0.66, 0.33, 0.02, 1.0),
           (0.75, 0.15, 0.1, 1.0)),
    on_faces=WHITE,
)

YELLOW: RGBA = (1.0, 1.0, 0.0, 1.0)
HIGH_CONTRAST = Palette(
    name="high_contrast", background=BLACK, text=WHITE, heading=YELLOW, link=YELLOW, warning=(1.0, 0.75, 0.3, 1.0),
    muted=(0.85, 0.85, 0.85, 1.0), panel=(0.12, 0.12, 0.12, 1.0), on_panel=WHITE,
    primary=YELLOW, on_primary=BLACK, key=WHITE, on_key=BLACK, go=(0.0, 1.0, 1.0, 1.0), on_go=BLACK,
    alert=(1.0, 0.7, 0.7, 1.0), on_alert=BLACK, warn=(1.0, 0.75, 0.0, 1.0), on_warn=BLACK,
    accent=(1.0, 0.85, 0.55, 1.0), on_accent=BLACK, neutral=(0.85, 0.85, 0.85, 1.0), on_neutral=BLACK,
    chip=(0.8, 0.8, 0.8, 1.0), on_chip=BLACK, chosen=YELLOW, on_chosen=BLACK, demo=(0.85, 0.75, 1.0, 1.0),
    on_demo=BLACK, candidate=YELLOW, on_candidate=BLACK,
    faces=((0.6, 1.0, 0.6, 1.0), (0.8, 1.0, 0.5, 1.0), (1.0, 1.0, 0.55, 1.0), (1.0, 0.8, 0.4, 1.0),
           (1.0, 0.65, 0.65, 1.0)),
    on_faces=BLACK,
)

PALETTES = {p.name: p for p in (NORMAL, HIGH_CONTRAST)}


def luminance(colour: RGBA | tuple[float, ...]) -> float:
    """WCAG 2.1 relative luminance of an sRGB colour (0–1 channels)."""

    def channel(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = colour[:3]
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: RGBA | tuple[float, ...], b: RGBA | tuple[float, ...]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _paint(widget: Any, tag: str, background: RGBA, text: RGBA) -> Any:
    if getattr(widget, "palette_role", None) is None:  # painted the first time: its text keeps fitting
        keep_fitting(widget)
    widget.palette_role = tag
    widget.background_normal = ""
    widget.background_color = background
    widget.color = text
    return widget


def paint(widget: Any, palette: Palette, role: str) -> Any:
    """A button in a role's colours; tagged so that a palette switch repaints it."""
    return _paint(widget, role, palette[role], palette["on_" + role])


def paint_face(widget: Any, palette: Palette, level: int) -> Any:
    """A rating face (level 5 … 1) in its colour."""
    return _paint(widget, f"face{level}", palette.faces[5 - level], palette.on_faces)


def repaint(root: Any, palette: Palette) -> None:
    """After a switch: every widget painted in Python takes its role's colours from the new palette."""
    for widget in root.walk(restrict=False):
        role = getattr(widget, "palette_role", None)
        if role is None:
            continue
        if role.startswith("face"):
            paint_face(widget, palette, int(role[4:]))
        else:
            paint(widget, palette, role)

