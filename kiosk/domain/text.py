"""Free text typed by citizens and clerks can contain an ID number: it is masked before it is stored or shown.

A person types an ID number in many ways: full-width digits (１１０１…), spaces or dashes between groups
(110105 19491231 002X, 110105-19491231-002X), a lower-case x. ``scrub`` finds all of them through one fold
(kiosk.domain.identity.fold) and masks each where it stands (1101**********002X).

Which numbers are masked: an unbroken run of 18 characters (17 digits and a digit or X) or of 15 digits is
always masked, whether or not its check digit is right: a mistyped ID number still names a person, and nothing
else the product takes (phone numbers, ticket, case and matter numbers) is that long. A run broken by spaces or
dashes is masked only when it looks like an ID number, that is when its check digit is right (GB 11643) or its
birth date is a real date, because ordinary numbers written one after another ("13800138000 2026 11 23") can
add up to 18 digits.
"""

from __future__ import annotations

import re
from datetime import date

from kiosk.domain.identity import check_char, fold, mask_number

# on the folded copy: digits are ASCII, X is upper case, every space or dash is one space; at most three of
# them between two digits
_ID_LIKE = re.compile(r"(?<![0-9])[1-9](?: {0,3}[0-9]){16} {0,3}[0-9X](?![0-9A-Za-z])"
                      r"|(?<![0-9])[1-9](?: {0,3}[0-9]){14}(?![0-9A-Za-z]| {1,3}[0-9])", re.ASCII)
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{5,18}[0-9]$", re.ASCII)


def _real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _is_id(span: str) -> bool:
    """Whether a match on the folded copy is to be masked (see the module's docstring)."""
    number = span.replace(" ", "")
    if number == span:
        return True
    if len(number) == 18:
        return check_char(number[:17]) == number[17] or (
            1900 <= int(number[6:10]) <= 2099 and _real_date(int(number[6:10]), int(number[10:12]), int(number[12:14])))
    return _real_date(1900 + int(number[6:8]), int(number[8:10]), int(number[10:12]))


def id_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, normalised number) of every ID number in ``text``, in order."""
    folded = fold(text)
    found: list[tuple[int, int, str]] = []
    pos = 0
    while (match := _ID_LIKE.search(folded, pos)) is not None:
        if _is_id(match.group(0)):
            found.append((match.start(), match.end(), match.group(0).replace(" ", "")))
            pos = match.end()
        else:
            pos = match.start() + 1  # a shorter ID number may still start further on
    return found


def scrub(text: str) -> str:
    """``text`` with every ID number in it masked, in whatever form it was typed."""
    spans = id_spans(text)
    if not spans:
        return text
    out: list[str] = []
    last = 0
    for start, end, number in spans:
        out += [text[last:start], mask_number(number)]
        last = end
    out.append(text[last:])
    return "".join(out)


def has_id_number(text: str) -> bool:
    return bool(id_spans(text))


def clean_text(value: object, max_len: int) -> str | None:
    """Text a person typed, as it may be stored and shown: control characters out, ID numbers masked."""
    if not isinstance(value, str):
        return None
    text = "".join(ch for ch in value if ch == "\n" or ch >= " ").strip()
    if not text or len(text) > max_len:
        return None
    return scrub(text)


def normal_phone(value: str) -> str | None:
    """A contact phone number with its digits in ASCII (typed full-width or not), or None when it is not a
    phone number. An ID number is never a contact: it would be stored and shown to staff whole."""
    text = "".join(chr(0x30 + int(ch)) if ch.isdecimal() else ch for ch in value.strip())
    if has_id_number(text) or not _PHONE.match(text):
        return None
    return text


def valid_phone(value: str) -> bool:
    return normal_phone(value) is not None


def mask_phone(value: str) -> str:
    digits = value.replace(" ", "").replace("-", "")
    return digits[:3] + "*" * max(0, len(digits) - 7) + digits[-4:] if len(digits) > 7 else "*" * len(digits)
