"""The screen a terminal runs on: its size in pixels, asked of the display server before the window opens.

A kiosk runs a bare X server or a Wayland kiosk compositor (cage), with no window manager. SDL's
"desktop full screen" there left a 1280×800 window cropped and shifted on a 1080×1920 portrait panel,
because nothing manages the window. So the kiosk opens a borderless window exactly the size of the X
root window at (0, 0), asked of libX11 through ctypes. Under cage the app is an Xwayland client (Kivy's
SDL has no Wayland driver), and Xwayland's root is the output.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import time

from kiosk.domain.errors import KioskError


class ScreenUnavailable(KioskError):
    """The terminal cannot reach its screen: it stops and says so (systemd starts it again), rather than run
    invisibly."""


_held: dict[str, tuple[int, int]] = {}  # display → its size, for the X connections kept open (see x_screen_size)


def x_screen_size(display: str | None = None, wait: float = 5.0, hold: bool = False) -> tuple[int, int] | None:
    """The X root window's size, or None when no X server answered within ``wait`` seconds.

    An X server resets itself when its last client leaves, and turns away a client that connects during
    the reset (measured on Xvfb: 41 of 600 connections refused with two clients opening and closing). The
    probe is such a client: it left, the server reset, SDL's own connection a moment later was refused, and
    SDL fell back to its offscreen driver, so the kiosk ran on, invisible, over a black panel. Hence the
    retries, and ``hold``: the probe keeps its connection for the life of the process, so the server has a
    client and does not reset under SDL. A display already held is not asked again."""
    name = display if display is not None else os.environ.get("DISPLAY")
    if not name:
        return None
    if name in _held:
        return _held[name]
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
    deadline = time.monotonic() + wait
    handle = x11.XOpenDisplay(name.encode())
    while not handle and time.monotonic() < deadline:
        time.sleep(0.1)
        handle = x11.XOpenDisplay(name.encode())
    if not handle:
        return None
    screen = x11.XDefaultScreen(handle)
    size = int(x11.XDisplayWidth(handle, screen)), int(x11.XDisplayHeight(handle, screen))
    if hold:
        _held[name] = size  # the handle is deliberately never closed
    else:
        x11.XCloseDisplay(handle)
    return size


def require_x_screen(display: str | None = None, wait: float = 5.0) -> tuple[int, int]:
    """The screen of a terminal that shows itself: its size, the connection held, or ScreenUnavailable."""
    name = display if display is not None else os.environ.get("DISPLAY")
    if not name:
        raise ScreenUnavailable("没有显示器：未设置 DISPLAY（在 cage 下需安装 xwayland）。/ no screen: DISPLAY is not set "
                                "(under cage, install xwayland). To see the apps without a screen: --tour DIR")
    size = x_screen_size(name, wait=wait, hold=True)
    if size is None:
        raise ScreenUnavailable(f"无法连接显示服务器 {name}，请检查显示会话是否已启动。/ cannot reach the display "
                                f"server {name}: is the X session running?")
    return size


def parse_size(text: str) -> tuple[int, int]:
    """"1080x1920" → (1080, 1920), for --size; a clear error otherwise."""
    parts = text.lower().replace("×", "x").split("x")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"尺寸应为 宽x高，如 1080x1920 / a size is WIDTHxHEIGHT, such as 1080x1920: {text!r}")
    width, height = int(parts[0]), int(parts[1])
    if not (320 <= width <= 7680 and 320 <= height <= 7680):
        raise ValueError(f"尺寸超出范围 / size out of range (320–7680): {text!r}")
    return width, height
