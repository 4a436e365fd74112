"""Turning scanned bytes into text, pure."""

from __future__ import annotations


def decode_scan(data: bytes) -> str:
    """UTF-8 first (our codes and most phones), then GB18030 (older Chinese scanners)."""
    for encoding in ("utf-8", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = data.decode("latin-1")
    text = "".join(ch for ch in text if ch >= " " or ch == "\t").strip()
    return undo_shift_jis(text)


def undo_shift_jis(text: str) -> str:
    """zbar sometimes reads a UTF-8 QR payload as Shift-JIS; undo that when it round-trips."""
    if all(ord(ch) < 128 for ch in text):
        return text
    try:
        return text.encode("shift_jis").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
