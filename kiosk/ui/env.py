"""Everything Kivy needs decided before it is imported: window backend, logging, fonts.

The CJK font must be the Simplified Chinese face: face 0 of Noto Sans CJK's collection
is Japanese (wrong shapes for 骨, 直), so the SC face is extracted once into assets/fonts."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from kiosk.ui.screen import require_x_screen

ASSET_FONT = Path(__file__).resolve().parents[2] / "assets" / "fonts" / "NotoSansCJKsc-Regular.otf"
SYSTEM_TTC = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SC_FACE = 2


def ensure_font() -> Path:
    """The SC font as its own file, extracted from the system collection on first use."""
    if ASSET_FONT.exists():
        return ASSET_FONT
    if not SYSTEM_TTC.exists():
        raise RuntimeError("找不到中文字体，请运行安装命令（会安装 fonts-noto-cjk）/ no CJK font: run the set-up command")
    from fontTools.ttLib import TTCollection

    ASSET_FONT.parent.mkdir(parents=True, exist_ok=True)
    tmp = ASSET_FONT.with_suffix(".tmp")
    TTCollection(str(SYSTEM_TTC)).fonts[SC_FACE].save(str(tmp))
    tmp.replace(ASSET_FONT)
    return ASSET_FONT


def prepare(headless: bool, width: int = 1280, height: int = 800, kiosk_mode: bool = False, dpi: float = 0.0) -> None:
    """``dpi``: the panel's real dots per inch (devices.toml [screen]), so that sizes in mm are true."""
    if dpi > 0:
        os.environ["KIVY_DPI"] = f"{dpi:g}"
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "MIXED")
    os.environ.setdefault("KIVY_HOME", str(Path(tempfile.gettempdir()) / "kiosk-kivy-home"))
    os.environ.setdefault("KIVY_WINDOW", "sdl2")
    os.environ.setdefault("KIVY_CLIPBOARD", "sdl2")  # not xsel/xclip, which a kiosk image does not have
    os.environ.setdefault("KIVY_GL_BACKEND", "sdl2")
    screen: tuple[int, int] | None = None
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
    elif "SDL_VIDEODRIVER" not in os.environ:
        # X, by name: Kivy's SDL has no Wayland (under cage the app is an Xwayland client), and a driver left
        # to SDL's choice falls back to "offscreen" when X refuses, which runs the app invisibly
        os.environ["SDL_VIDEODRIVER"] = "x11"
        screen = require_x_screen()
    font = ensure_font()
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("kivy", "exit_on_escape", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    if kiosk_mode:
        # a touchscreen reports each touch twice (the kernel's multitouch device, and SDL's emulated mouse):
        # mouse events are ignored while a touch is active, so a tap is one tap
        Config.set("input", "mouse", "mouse,disable_on_activity,disable_multitouch")
        Config.set("input", "touchscreen", "probesysfs,provider=hidinput")
        Config.set("graphics", "borderless", "1")
        Config.set("graphics", "show_cursor", "0")
        if screen is not None:  # X with no window manager (bare, or cage's Xwayland): a borderless window over it
            Config.set("graphics", "fullscreen", "0")
            Config.set("graphics", "width", str(screen[0]))
            Config.set("graphics", "height", str(screen[1]))
            Config.set("graphics", "position", "custom")
            Config.set("graphics", "left", "0")
            Config.set("graphics", "top", "0")
        else:  # a display chosen by SDL_VIDEODRIVER: ask SDL for full screen
            Config.set("graphics", "fullscreen", "auto")
    from kivy.core.text import LabelBase

    LabelBase.register("Roboto", str(font))  # the default font name: every label gets the CJK face
