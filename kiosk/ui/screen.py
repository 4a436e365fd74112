"""The screen a terminal runs on: its size in pixels, asked of the display server before the window opens.

A kiosk runs a bare X server or a Wayland kiosk compositor (cage), with no window manager. SDL's
"desktop full screen" there left a 1280×800 window cropped and shifted on a 1080×1920 portrait panel,
because nothing manages the window. So on X the kiosk opens a borderless window exactly the size of the
root window at (0, 0), asked of libX11 through ctypes; under cage (Wayland, no X) the compositor makes
the window fill the output itself.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os


def x_screen_size(display: str | None = None) -> tuple[int, int] | None:
    """The X root window's size, or None when there is no X server to ask."""
    name = display if display is not None else os.environ.get("DISPLAY")
    if not name:
        return None
    path = ctypes.util.find_library("X11") or "libX11.so.6"
    try:
        x11 = ctypes.CDLL(path)
    except OSError:
        return None
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultScreen.argtypes = [ctypes.c_void_p]
    x11.XDisplayWidth.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XDisplayHeight.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    handle = x11.XOpenDisplay(name.encode())
    if not handle:
        return None
    try:
        screen = x11.XDefaultScreen(handle)
        return int(x11.XDisplayWidth(handle, screen)), int(x11.XDisplayHeight(handle, screen))
    finally:
        x11.XCloseDisplay(handle)


def parse_size(text: str) -> tuple[int, int]:
    """"1080x1920" → (1080, 1920), for --size; a clear error otherwise."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"尺寸应为 宽x高，如 1080x1920 / a size is WIDTHxHEIGHT, such as 1080x1920: {text!r}")
    width, height = int(parts[0]), int(parts[1])
    if not (320 <= width <= 7680 and 320 <= height <= 7680):
        raise ValueError(f"尺寸超出范围 / size out of range (320–7680): {text!r}")
    return width, height
