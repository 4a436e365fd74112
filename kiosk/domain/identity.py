"""Resident identity numbers (GB 11643-1999): validation, masking and keyed hashing.

A raw number exists only inside an :class:`Identity` for the duration of one request.
Everything that is stored, logged or sent carries the keyed hash and the masked form.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from kiosk.domain.errors import DomainError, fail
from kiosk.domain.keyed import hmac_sha256

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
_ZEROS = ord("0") * sum(WEIGHTS)
_SHAPE = re.compile(r"^[1-9][0-9]{16}[0-9X]$")
_NAME_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f<>{}\\]")
MAX_NAME_LEN = 30
# how a kiosk captured an identity (hall-api.md): the card reader, the keypad, or an e-ID code.
# Only typed identities count towards a kiosk burst: laying one's own card is never rate-limited.
SOURCES = ("card", "typed", "qr")


def check_char(first17: str) -> str:
    """GB 11643's check character of the first 17 digits: each ASCII digit weighs its byte less 48, summed in C
    (every ticket's number is checked here)."""
    if len(first17) != len(WEIGHTS) or not (first17.isascii() and first17.isdigit()):
        raise ValueError("the check character is of the first 17 ASCII digits")
    return CHECK_CHARS[(sum(map(operator.mul, first17.encode(), WEIGHTS)) - _ZEROS) % 11]


def _invalid(why_zh: str, why_en: str) -> DomainError:
    return fail("ID_INVALID", f"身份证号码无效：{why_zh}。请核对后重新输入，或将身份证放在读卡区。",
                f"Invalid ID number: {why_en}. Check it and type it again, or place the ID card on the reader.")


class _Fold(dict[int, int]):
    """How a person may type the characters of an ID number, folded to one form, one character for one:
    any script's decimal digit (full-width ０-９ above all) to its ASCII digit, x/ｘ/Ｘ to X, and every space
    or dash to a plain space. One character for one, so that a position in the folded text is the same
    position in the original (text.py masks the original where the folded copy matched)."""

    LIMIT = 4096  # characters remembered; a body of a million different characters does not grow this

    def __missing__(self, code: int) -> int:
        ch = chr(code)
        digit = unicodedata.decimal(ch, None)
        if digit is not None:
            out = ord("0") + digit
        elif ch in "xXｘＸ":
            out = ord("X")
        elif ch.isspace() or unicodedata.category(ch) == "Pd" or ch == "\u2212":
            out = ord(" ")
        else:
            out = code
        if len(self) < self.LIMIT:
            self[code] = out
        return out


FOLD = _Fold()


def fold(text: str) -> str:
    """``text`` with the characters of ID numbers in one form (see _Fold); the same length as ``text``."""
    return text.translate(FOLD)


_PLAIN = re.compile(r"[0-9]{17}[0-9X]")


def normalize_number(raw: str) -> str:
    """An ID number as stored and hashed, however it was typed: full-width digits, spaces or dashes between
    groups and a lower-case x all give the same number (and so the same person, for every limit). A number
    already in that form (a card read, most typed ones) is itself: folding it character by character is
    skipped."""
    if _PLAIN.fullmatch(raw):
        return raw
    return fold(raw).replace(" ", "")


def validate_number(raw: object, today: date) -> str:
    """Return the normalised number or raise ID_INVALID with the reason a citizen can act on."""
    return _validated(raw, today)[0]


def _validated(raw: object, today: date) -> tuple[str, date]:
    """The normalised number and the date of birth it holds (an identity's age is counted from it)."""
    if not isinstance(raw, str):
        raise _invalid("缺少号码", "number missing")
    number = normalize_number(raw)
    if len(number) != 18:
        raise _invalid(f"应为18位，实际{len(number)}位", f"18 characters expected, got {len(number)}")
    if not _SHAPE.match(number):
        raise _invalid("只能包含数字，最后一位可以是X", "digits only, the last may be X")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _invalid("出生日期不存在", "the date of birth does not exist") from None
    if born > today or today.year - born.year > 150:
        raise _invalid("出生日期不合理", "the date of birth is not plausible")
    if check_char(number[:17]) != number[17]:
        raise _invalid("校验位不符，可能有一位输错", "the check digit does not match; one digit may be mistyped")
    return number, born


def mask_number(number: str) -> str:
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_name(name: str) -> str:
    chars = list(name)
    if len(chars) <= 1:
        return name
    if len(chars) == 2:
        return chars[0] + "*"
    return chars[0] + "*" * (len(chars) - 2) + chars[-1]


def birth_date(number: str) -> date:
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def age_on(number: str, day: date) -> int:
    return _age(birth_date(number), day)


def _age(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def sex_of(number: str) -> str:
    return "M" if int(number[16]) % 2 == 1 else "F"


def identity_hash(key: bytes, number: str) -> str:
    return _keyed(key, normalize_number(number))


def _keyed(key: bytes, normalized: str) -> str:
    return hmac_sha256(key, normalized.encode()).hex()


@dataclass(frozen=True)
class Identity:
    """A validated person. ``number`` and ``name`` are raw: never store, log or return them."""

    number: str = field(repr=False)
    name: str = field(repr=False)
    hash: str
    masked: str
    name_masked: str
    age: int
    sex: str
    source: str = "typed"

    def __repr__(self) -> str:  # keeps tracebacks and logs free of raw data
        return f"Identity({self.masked}, {self.name_masked})"


LONG_TERM = ("长期", "long_term")


def _check_valid_until(value: object, today: date) -> None:
    """``valid_until`` (hall-api.md, optional): the card's expiry as read from the chip, ISO date or 长期.
    An expired card is refused by the hall for every front end: kiosk, counter and API alike."""
    if value is None or value in LONG_TERM:
        return
    try:
        until = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        until = None
    if until is None:
        raise fail("ID_INVALID")
    if until < today:
        raise fail("ID_EXPIRED",
                   f"身份证已过期（有效期至 {until:%Y-%m-%d}），不能用于取号或办理。"
                   "请使用有效身份证件，或到服务台由工作人员协助。",
                   f"This ID card expired on {until:%Y-%m-%d} and cannot be used. Use a valid ID, or ask staff at the "
                   "service desk.", valid_until=until.isoformat())


def make_identity(raw: object, key: bytes, today: date) -> Identity:
    """Validate a request's ``identity`` object (``{id_number, name}``)."""
    if not isinstance(raw, dict):
        raise _invalid("缺少身份信息", "identity missing")
    number, born = _validated(raw.get("id_number"), today)
    name = raw.get("name")
    if name is None:
        name = ""
    if not isinstance(name, str) or len(name) > MAX_NAME_LEN or _NAME_FORBIDDEN.search(name):
        raise fail("NAME_INVALID")
    name = name.strip()
    _check_valid_until(raw.get("valid_until"), today)
    source = raw.get("source", "typed")
    if source not in SOURCES:
        raise fail("SOURCE_INVALID", "身份来源应为 card（刷证）、typed（输入）或 qr（电子证照）。",
                   "identity.source must be card, typed or qr.")
    return Identity(
        number=number,
        name=name,
        hash=_keyed(key, number),  # already normalised
        masked=mask_number(number),
        name_masked=mask_name(name),
        age=_age(born, today),
        sex=sex_of(number),
        source=str(source),
    )
