"""Texts printed as QR codes, signed with the hall's key so that a forged or altered
code is refused. An HMAC (not a public-key signature) is enough: only the hall
service that issued a code ever checks it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, quote

from kiosk.domain.errors import DomainError, fail
from kiosk.domain.keyed import hmac_sha256

TICKET_TAG = "HT1"
APPOINTMENT_TAG = "HA1"
MATTER_TAG = "HM1"


_B32_PAIRS = tuple(a + b for a in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567" for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def _sig(key: bytes, body: str) -> str:
    """The first 15 bytes of the HMAC in base 32 (RFC 4648, 24 characters, no padding): what
    ``base64.b32encode`` writes, ten bits at a time from a table rather than by its pure-Python loop (every
    slip printed signs one)."""
    n = int.from_bytes(hmac_sha256(key, body.encode())[:15], "big")
    p = _B32_PAIRS  # written out: a loop over the twelve shifts costs as much again
    return (p[n >> 110] + p[(n >> 100) & 1023] + p[(n >> 90) & 1023] + p[(n >> 80) & 1023]
            + p[(n >> 70) & 1023] + p[(n >> 60) & 1023] + p[(n >> 50) & 1023] + p[(n >> 40) & 1023]
            + p[(n >> 30) & 1023] + p[(n >> 20) & 1023] + p[(n >> 10) & 1023] + p[n & 1023])


def same_text(given: str, expected: str) -> bool:
    """Constant time, and as bytes: a forged code or a browser's token may hold any character (comparing
    str would raise on some). Used for every secret compared with what someone sent."""
    return hmac.compare_digest(given.encode(), expected.encode())


def qr_invalid(why_zh: str, why_en: str, reason: str) -> DomainError:
    return fail("QR_INVALID", f"二维码无效：{why_zh}。请使用本大厅打印的小票，或到服务台咨询。",
                f"Invalid code: {why_en}. Use a ticket printed by this hall, or ask at the service desk.", reason=reason)


@dataclass(frozen=True)
class _Kind:
    """One kind of signed code, and how its refusals name it."""

    tag: str
    parts: int  # the tag, the hall, the fields, the signature
    longest: int
    not_it: tuple[str, str]  # "不是本系统的小票二维码"
    noun: tuple[str, str]  # "小票", "ticket": another hall's ticket, the ticket's text altered


def _fields(key: bytes, hall: str, text: object, kind: _Kind, opened: str) -> list[str]:
    """The fields of a genuine code of ``kind`` issued by this hall (between the hall and the signature);
    every kind is checked alike, so that a forged appointment is refused as surely as a forged ticket."""
    noun, noun_en = kind.noun
    if not isinstance(text, str) or len(text) > kind.longest:
        raise qr_invalid(*kind.not_it, "format")
    parts = opened.split(":")
    if len(parts) != kind.parts or parts[0] != kind.tag:
        raise qr_invalid(*kind.not_it, "format")
    if parts[1] != hall:
        raise qr_invalid(f"这是其他大厅的{noun}", f"the {noun_en} belongs to another hall", "foreign")
    if not same_text(parts[-1], _sig(key, ":".join(parts[:-1]))):
        raise qr_invalid(f"{noun}信息被改动或伪造", "the code was altered or forged", "signature")
    return parts[2:-1]


_TICKET = _Kind(TICKET_TAG, 5, 400, ("不是本系统的小票二维码", "not a ticket code of this system"), ("小票", "ticket"))
_APPOINTMENT = _Kind(APPOINTMENT_TAG, 9, 300, ("不是预约二维码", "not an appointment code"), ("预约", "appointment"))
_MATTER = _Kind(MATTER_TAG, 4, 200, ("不是办不成事回执的二维码", "not a report receipt code"), ("回执", "receipt"))


@dataclass(frozen=True)
class TicketCode:
    hall: str
    day: date
    number: str


def ticket_qr(key: bytes, hall: str, day: date, number: str) -> str:
    body = f"{TICKET_TAG}:{hall}:{day.isoformat().replace('-', '')}:{number}"  # YYYYMMDD; strftime costs more
    return f"{body}:{_sig(key, body)}"


def follow_url(public_url: str, code: str) -> str:
    """The ticket's QR when the hall has a public address: a phone opens the queue page, a kiosk still reads it."""
    return f"{public_url}/q?c={quote(code, safe=':')}"


def code_of(scanned: str) -> str:
    """A scanned text as the signed code inside it: the code itself, or the one in a follow URL's ``c``."""
    text = scanned.strip()
    if text.startswith(("http://", "https://")) and "?" in text:
        found = parse_qs(text.split("?", 1)[1]).get("c")
        if found:
            return found[0]
    return text


def read_ticket_qr(key: bytes, hall: str, text: object) -> TicketCode:
    day_s, number = _fields(key, hall, text, _TICKET, code_of(text) if isinstance(text, str) else "")
    try:
        day = date(int(day_s[:4]), int(day_s[4:6]), int(day_s[6:8]))
    except ValueError:
        raise qr_invalid("日期错误", "bad date", "format") from None
    return TicketCode(hall, day, number)


@dataclass(frozen=True)
class AppointmentCode:
    hall: str
    appointment_id: str
    channel: str  # "appointment" or "booking"
    business: str
    slot_start: int  # unix seconds
    slot_end: int
    holder: str  # first 16 hex of the holder's keyed hash, "" when not bound


def appointment_qr(key: bytes, code: AppointmentCode) -> str:
    body = ":".join([
        APPOINTMENT_TAG, code.hall, code.appointment_id, code.channel[0], code.business,
        str(code.slot_start), str(code.slot_end), code.holder or "-",
    ])
    return f"{body}:{_sig(key, body)}"


def read_appointment_qr(key: bytes, hall: str, text: object) -> AppointmentCode:
    opened = text.strip() if isinstance(text, str) else ""
    appointment_id, channel_s, business, start_s, end_s, holder = _fields(key, hall, text, _APPOINTMENT, opened)
    try:
        start, end = int(start_s), int(end_s)
    except ValueError:
        raise qr_invalid("时间错误", "bad time", "format") from None
    channel = {"a": "appointment", "b": "booking"}.get(channel_s)
    if channel is None:
        raise qr_invalid(*_APPOINTMENT.not_it, "format")
    return AppointmentCode(hall, appointment_id, channel, business, start, end, "" if holder == "-" else holder)


def matter_qr(key: bytes, hall: str, number: str) -> str:
    """The 办不成事 receipt's code: scanned back at a kiosk it shows the report's progress, so it is signed
    like a ticket: a code made up by someone else shows nothing."""
    body = f"{MATTER_TAG}:{hall}:{number}"
    return f"{body}:{_sig(key, body)}"


def read_matter_qr(key: bytes, hall: str, text: object) -> str:
    """The matter number of a genuine receipt of this hall."""
    (number,) = _fields(key, hall, text, _MATTER, text.strip() if isinstance(text, str) else "")
    return number
