"""What the tours' widget records say about a layout: text clipped by its box or the window, texts drawn
over each other, and keys out of a standing or seated citizen's reach."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

Box = dict[str, Any]


def record(tour: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((tour / "tour.json").read_text())
    return data


def clipped(tour: Path) -> list[tuple[str, str, str]]:
    """(screen, text, why) for every text that does not fit its box, or lies beyond the window."""
    data = record(tour)
    width, height = data["_window"]
    out = []
    for shot, boxes in data["_text_boxes"].items():
        for b in boxes:
            x, y, w, h = b["box"]
            tw, th = b["texture"]
            if b.get("scrolled"):
                continue  # a scrolled list shows the rest when scrolled
            if x < -1 or y < -1 or x + w > width + 1 or y + h > height + 1:
                out.append((shot, b["text"], f"beyond the window {width}x{height}: {b['box']}"))
            elif tw > w + 2 or th > h + 2:
                out.append((shot, b["text"], f"text {tw}x{th} in a box {w}x{h}"))
    return out


def _overlap(a: list[int], b: list[int]) -> int:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    dx = min(ax + aw, bx + bw) - max(ax, bx)
    dy = min(ay + ah, by + bh) - max(ay, by)
    return dx * dy if dx > 0 and dy > 0 else 0


def text_rect(b: Box) -> list[int]:
    """Where the text itself is drawn: its texture, centred in its box as the apps lay text out."""
    x, y, w, h = b["box"]
    tw, th = min(b["texture"][0], w), min(b["texture"][1], h)
    return [round(x + (w - tw) / 2), round(y + (h - th) / 2), tw, th]


def overlapping(tour: Path) -> list[tuple[str, str, str]]:
    """(screen, text, other text) for two texts drawn over each other."""
    data = record(tour)
    out = []
    for shot, boxes in data["_text_boxes"].items():
        rects = [(b["text"], text_rect(b)) for b in boxes if not b.get("scrolled")]
        for i, (ta, ra) in enumerate(rects):
            for tb, rb in rects[i + 1:]:
                area = _overlap(ra, rb)
                if area > 0.1 * min(ra[2] * ra[3], rb[2] * rb[3]):
                    out.append((shot, ta, tb))
    return out


def out_of_reach(tour: Path, shot: str, keys: set[str], share: float = 2 / 3) -> list[str]:
    """Keys of ``shot`` whose top is above the lower ``share`` of the window (y grows upwards)."""
    data = record(tour)
    height = data["_window"][1]
    return [b["text"] for b in data["_text_boxes"][shot]
            if b["button"] and b["text"] in keys and b["box"][1] + b["box"][3] > share * height + 1]
