"""Free text typed by citizens and clerks can contain an ID number: mask it before storing."""

from __future__ import annotations

import re

from kiosk.domain.identity import mask_number

_ID_LIKE = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])|(?<![0-9])[1-9][0-9]{14}(?![0-9])")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$")


def scrub(text: str) -> str:
    return _ID_LIKE.sub(lambda m: mask_number(m.group(0).upper()), text)


def clean_text(value: object, max_len: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = "".join(ch for ch in value if ch == "\n" or ch >= " ").strip()
    if not text or len(text) > max_len:
        return None
    return scrub(text)


def valid_phone(value: str) -> bool:
    return bool(_PHONE.match(value))


def mask_phone(value: str) -> str:
    digits = value.replace(" ", "").replace("-", "")
    return digits[:3] + "*" * max(0, len(digits) - 7) + digits[-4:] if len(digits) > 7 else "*" * len(digits)
