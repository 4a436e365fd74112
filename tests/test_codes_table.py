"""Every way a scanned code is refused, table-driven (kiosk/domain/codes.py): the code, the reason a
technician reads in the logs, and both sentences the citizen reads. Written against the mutation report."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from kiosk.domain import codes
from kiosk.domain.errors import DomainError

KEY = b"k" * 32
HALL = "demo-hall"


def sign(body: str) -> str:
    return f"{body}:{codes._sig(KEY, body)}"


TICKET = codes.ticket_qr(KEY, HALL, date(2026, 11, 23), "B001")
APPT = codes.appointment_qr(KEY, codes.AppointmentCode(HALL, "ap-1", "booking", "D", 1795400000, 1795401800, "ab12"))
MATTER = codes.matter_qr(KEY, HALL, "M20261123-001")

CASES: list[tuple[Callable[..., object], object, str, str]] = [
    (codes.read_ticket_qr, None, "format", "不是本系统的小票二维码"),
    (codes.read_ticket_qr, "x" * 201, "format", "不是本系统的小票二维码"),
    (codes.read_ticket_qr, TICKET.replace("HT1", "HT2"), "format", "不是本系统的小票二维码"),
    (codes.read_ticket_qr, TICKET + ":extra", "format", "不是本系统的小票二维码"),
    (codes.read_ticket_qr, codes.ticket_qr(KEY, "other", date(2026, 11, 23), "B001"), "foreign", "其他大厅"),
    (codes.read_ticket_qr, TICKET.replace("B001", "B002"), "signature", "改动或伪造"),
    (codes.read_ticket_qr, sign(f"HT1:{HALL}:20261399:B001"), "format", "日期错误"),
    (codes.read_appointment_qr, 42, "format", "不是预约二维码"),
    (codes.read_appointment_qr, "x" * 301, "format", "不是预约二维码"),
    (codes.read_appointment_qr, APPT.replace("HA1", "HT1"), "format", "不是预约二维码"),
    (codes.read_appointment_qr, APPT + ":extra", "format", "不是预约二维码"),
    (codes.read_appointment_qr, APPT.replace(HALL, "other"), "foreign", "其他大厅"),
    (codes.read_appointment_qr, APPT.replace(":D:", ":E:"), "signature", "改动或伪造"),
    (codes.read_appointment_qr, sign(f"HA1:{HALL}:ap-2:b:D:soon:1795401800:-"), "format", "时间错误"),
    (codes.read_appointment_qr, sign(f"HA1:{HALL}:ap-3:z:D:1795400000:1795401800:-"), "format", "不是预约二维码"),
    (codes.read_matter_qr, b"HM1", "format", "不是办不成事回执"),
    (codes.read_matter_qr, "x" * 201, "format", "不是办不成事回执"),
    (codes.read_matter_qr, MATTER.replace("HM1", "HT1"), "format", "不是办不成事回执"),
    (codes.read_matter_qr, codes.matter_qr(KEY, "other", "M1"), "foreign", "其他大厅"),
    (codes.read_matter_qr, MATTER.replace("001", "002"), "signature", "改动或伪造"),
]


@pytest.mark.parametrize(("read", "text", "reason", "words"), CASES)
def test_every_refusal_says_why(read: Callable[..., object], text: object, reason: str, words: str) -> None:
    with pytest.raises(DomainError) as caught:
        read(KEY, HALL, text)
    err = caught.value
    assert (err.code, err.status, err.details["reason"]) == ("QR_INVALID", 422, reason)
    assert err.message.startswith("二维码无效：") and words in err.message and "服务台" in err.message
    assert err.message_en.startswith("Invalid code: ") and "service desk" in err.message_en


def test_genuine_codes_read_back_field_for_field() -> None:
    ticket = codes.read_ticket_qr(KEY, HALL, f"  {TICKET}  ")  # a scanner's stray spaces are forgiven
    assert (ticket.hall, ticket.day, ticket.number) == (HALL, date(2026, 11, 23), "B001")
    appt = codes.read_appointment_qr(KEY, HALL, APPT)
    assert appt == codes.AppointmentCode(HALL, "ap-1", "booking", "D", 1795400000, 1795401800, "ab12")
    unbound = codes.appointment_qr(KEY, codes.AppointmentCode(HALL, "ap-9", "appointment", "B", 1, 2, ""))
    assert ":a:B:1:2:-:" in unbound and codes.read_appointment_qr(KEY, HALL, unbound).holder == ""
    assert codes.read_matter_qr(KEY, HALL, MATTER) == "M20261123-001"
    assert len(TICKET) <= 200 and len(codes._sig(KEY, "x")) == 24  # 15 bytes in base32, no padding


def test_every_limit_refusal_names_its_numbers_and_what_to_do() -> None:
    """kiosk/domain/limits.py, pure: each refusal carries its limit (or wait) in both languages."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    from kiosk.domain import limits
    from kiosk.domain.config import KioskBurst, Limits

    rules = Limits(per_person_per_day=3, per_person_per_business=1, agent_principals_per_day=5,
                   no_show_cooldown_minutes=30, no_show_cooldown_after=1, kiosk_burst=KioskBurst(4, 10))
    now = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    clean = limits.PersonFacts(0, 0, 0, None, None)
    limits.check_person(rules, "您", clean, now)  # nothing to refuse

    def refused(facts: limits.PersonFacts) -> DomainError:
        with pytest.raises(DomainError) as caught:
            limits.check_person(rules, "被代办人 张*三 ", facts, now)
        assert caught.value.message.startswith("被代办人 张*三 ")  # names the person, masked
        return caught.value

    err = refused(limits.PersonFacts(0, 0, 0, None, "倒号"))
    assert err.code == "BLOCKLISTED" and "服务台" in err.message
    err = refused(limits.PersonFacts(0, 0, 1, now - timedelta(minutes=10), None))
    assert err.code == "NO_SHOW_COOLDOWN" and err.details["retry_after_min"] == 20
    assert "20 分钟" in err.message and "10:20" in err.message and "10:20" in err.message_en
    limits.check_person(rules, "您", limits.PersonFacts(0, 0, 1, now - timedelta(minutes=30), None), now)  # over
    err = refused(limits.PersonFacts(1, 1, 0, None, None))
    assert err.code == "BUSINESS_LIMIT" and err.details["limit"] == 1 and "补打" in err.message
    err = refused(limits.PersonFacts(3, 0, 0, None, None))
    assert err.code == "DAILY_LIMIT" and err.details["limit"] == 3 and "3 个" in err.message and "3" in err.message_en
    limits.check_person(rules, "您", limits.PersonFacts(2, 0, 0, None, None), now)  # one under the limit

    limits.check_agent(rules, limits.AgentFacts(frozenset({"a", "b", "c"})), ["c", "d", "e"])  # 5: at the limit
    with pytest.raises(DomainError) as caught:
        limits.check_agent(rules, limits.AgentFacts(frozenset({"a", "b", "c"})), ["d", "e", "f"])
    assert caught.value.code == "AGENT_LIMIT" and caught.value.details["limit"] == 5 and "5 位" in caught.value.message

    limits.check_kiosk_burst(rules, {"a", "b", "c"}, "d")  # the fourth typed person is fine
    limits.check_kiosk_burst(rules, {"a", "b", "c", "d"}, "a")  # a person already seen is fine
    with pytest.raises(DomainError) as caught:
        limits.check_kiosk_burst(rules, {"a", "b", "c", "d"}, "e")
    assert caught.value.code == "KIOSK_BURST" and "10 分钟" in caught.value.message and "4 位" in caught.value.message
    limits.check_kiosk_burst(Limits(kiosk_burst=None), {"a", "b", "c", "d", "e"}, "f")  # staff-operated kiosks
    # while the kiosk's burst lasts, typed entry stays paused however few numbers are left in the window
    with pytest.raises(DomainError):
        limits.check_kiosk_burst(rules, {"a"}, "e", paused=True)
    limits.check_kiosk_burst(rules, {"a"}, "a", paused=True)  # a person already seen is still fine


@pytest.mark.parametrize(("read", "genuine"), [(codes.read_ticket_qr, TICKET), (codes.read_appointment_qr, APPT),
                                               (codes.read_matter_qr, MATTER)], ids=["HT1", "HA1", "HM1"])
def test_every_character_of_a_genuine_signature_counts(read: Callable[..., object], genuine: str) -> None:
    """The signature is compared in full: any one character changed, the last included, is a forgery, and so
    is a signature one character short or long (the mutation report found a prefix comparison surviving)."""
    read(KEY, HALL, genuine)
    body, sig = genuine.rsplit(":", 1)
    altered = [f"{body}:{sig[:i]}{'B' if sig[i] == 'A' else 'A'}{sig[i + 1:]}" for i in range(len(sig))]
    for text in [*altered, f"{body}:{sig[:-1]}", f"{body}:{sig}A", f"{body}:"]:
        with pytest.raises(DomainError) as caught:
            read(KEY, HALL, text)
        assert caught.value.details["reason"] == "signature", text
    assert altered[-1][-1] != genuine[-1]
