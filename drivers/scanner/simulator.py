"""Simulated scanners: a serial scanner on a pseudo-terminal, and a camera that plays images
(a phone screen showing a code; blurred and rotated variants)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import qrcode
from PIL import Image, ImageDraw, ImageFilter

from drivers.ptylink import PtyLink


class ScannerSimulator:
    def __init__(self, suffix: bytes = b"\r") -> None:
        self.link = PtyLink()
        self.path = self.link.path
        self.suffix = suffix

    def __enter__(self) -> ScannerSimulator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.link.close()

    def scan(self, text: str, encoding: str = "utf-8", chunk: int = 0) -> None:
        data = text.encode(encoding) + self.suffix
        if chunk:  # the bytes dribble in, as from a slow scanner
            for i in range(0, len(data), chunk):
                self.link.write(data[i:i + chunk])
        else:
            self.link.write(data)

    def noise(self, data: bytes) -> None:
        self.link.write(data)


def phone_screen(text: str, variant: str = "clean") -> Image.Image:
    """A phone held up to the camera, its screen showing the QR code."""
    code = qrcode.make(text.encode("utf-8"), box_size=6, border=2).get_image().convert("RGB")
    scene = Image.new("RGB", (640, 480), (90, 96, 104))  # the hall behind the phone
    phone = Image.new("RGB", (code.width + 60, code.height + 160), (20, 20, 24))
    screen = Image.new("RGB", (code.width + 30, code.height + 100), (250, 250, 250))
    ImageDraw.Draw(screen).rectangle((10, 10, screen.width - 10, 40), fill=(30, 140, 80))  # app header
    screen.paste(code, (15, 60))
    phone.paste(screen, (15, 30))
    if variant in ("rotated", "rotated_blurred"):
        phone = phone.rotate(17, expand=True, fillcolor=(90, 96, 104))
    scale = min(1.0, 440 / phone.height, 600 / phone.width)
    phone = phone.resize((int(phone.width * scale), int(phone.height * scale)))
    scene.paste(phone, ((scene.width - phone.width) // 2, (scene.height - phone.height) // 2))
    if variant in ("blurred", "rotated_blurred"):
        scene = scene.filter(ImageFilter.GaussianBlur(1.4))
    return scene


class SimulatedCamera:
    """Behaves like cv2.VideoCapture: ``read()`` gives BGR frames, here from images, in a loop."""

    def __init__(self, images: list[Image.Image], empty_frames: int = 0, dead: bool = False) -> None:
        self.frames = [np.array(img.convert("RGB"))[:, :, ::-1].copy() for img in images]
        self.empty_frames = empty_frames
        self.dead = dead
        self.index = 0

    def read(self) -> tuple[bool, Any]:
        if self.dead:
            return False, None
        if self.empty_frames:
            self.empty_frames -= 1
            return True, np.full((480, 640, 3), 100, dtype=np.uint8)  # nobody in front of the camera yet
        frame = self.frames[self.index % len(self.frames)]
        self.index += 1
        return True, frame

    def release(self) -> None:
        self.dead = True


class CameraSimulator:
    """The kiosk's camera with a citizen in front of it: ``show`` holds a phone up, ``take_away``
    lowers it. Behind ``CameraScanner`` exactly as a real camera (cv2.VideoCapture) would be."""

    def __init__(self) -> None:
        self.frame: Any = None
        self.unplugged = False

    def show(self, text: str, variant: str = "clean") -> None:
        self.frame = np.array(phone_screen(text, variant))[:, :, ::-1].copy()

    scan = show  # the same verb as the serial scanner's simulator, for demos and tours

    def take_away(self) -> None:
        self.frame = None

    def read(self) -> tuple[bool, Any]:
        time.sleep(1 / 30)  # a camera delivers 30 frames a second; read() waits for the next one
        if self.unplugged:
            return False, None
        if self.frame is None:
            return True, np.full((480, 640, 3), 100, dtype=np.uint8)
        return True, self.frame

    def release(self) -> None:
        pass
