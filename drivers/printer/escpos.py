"""ESC/POS commands as bytes, pure. Chinese is ours: python-escpos's automatic encoding turns
full-width punctuation and ¥ into '?', so text goes as GB18030 inside the printer's Chinese
mode (FS & … FS .), or as raster lines drawn with the CJK font."""

from __future__ import annotations

from PIL import Image

ESC, GS, FS, DLE = b"\x1b", b"\x1d", b"\x1c", b"\x10"
INIT = ESC + b"@"
CHINESE_ON = FS + b"&"
CHINESE_OFF = FS + b"."
ALIGN = {"left": ESC + b"a\x00", "center": ESC + b"a\x01", "right": ESC + b"a\x02"}
CUT = ESC + b"d\x06" + GS + b"V\x00"  # feed past the cutter, then a full cut (as python-escpos does)
STATUS_OFFLINE = DLE + b"\x04\x02"  # cover open, paper-end stop
STATUS_PAPER = DLE + b"\x04\x04"  # roll paper sensor: near end, end


def bold(on: bool) -> bytes:
    return ESC + b"E" + (b"\x01" if on else b"\x00")


def size(width: int, height: int) -> bytes:
    """Character size 1–8 in each direction; FS ! doubles Chinese characters too."""
    n = ((width - 1) << 4) | (height - 1)
    chinese = (0x04 if width > 1 else 0) | (0x08 if height > 1 else 0)
    return GS + b"!" + bytes([n]) + FS + b"!" + bytes([chinese])


def gbk_encodable(text: str) -> bool:
    """Whether a printer with a GBK font can print this (4-byte GB18030 characters cannot)."""
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def chinese_text(text: str) -> bytes:
    return CHINESE_ON + text.encode("gb18030") + CHINESE_OFF


def feed(lines: int = 1) -> bytes:
    return ESC + b"d" + bytes([max(0, min(lines, 255))])


def raster(image: Image.Image) -> bytes:
    """GS v 0: a 1-bit image, 1 = black, rows padded to whole bytes."""
    mono = image.convert("1")
    width, height = mono.size
    row_bytes = (width + 7) // 8
    padded = Image.new("1", (row_bytes * 8, height), 1)
    padded.paste(mono, (0, 0))
    data = bytes(b ^ 0xFF for b in padded.tobytes())  # PIL: 1 = white; ESC/POS: 1 = black
    return GS + b"v0\x00" + bytes([row_bytes & 0xFF, row_bytes >> 8, height & 0xFF, height >> 8]) + data


def parse_paper_status(offline: int | None, paper: int | None) -> dict[str, bool]:
    """DLE EOT 2 and 4 replies → what the kiosk needs before it commits a ticket."""
    out = {"answered": offline is not None and paper is not None, "cover_open": False, "paper_out": False,
           "paper_low": False}
    if offline is not None:
        out["cover_open"] = bool(offline & 0x04)
        out["paper_out"] = bool(offline & 0x20)
    if paper is not None:
        out["paper_low"] = bool(paper & 0x0C)
        out["paper_out"] = out["paper_out"] or bool(paper & 0x60)
    return out
