"""An ID number typed into free text in any form a person may type it (full-width digits, spaces or dashes
between groups, a lower-case x) is masked wherever text is taken: on disk (hall.db and its WAL), in the event
feed, in the province's ledger and on its 办不成事 page. A contact that is an ID number is refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import requests

from kiosk.domain.identity import check_char, make_identity
from kiosk.domain.text import clean_text, scrub
from tests.helpers import KIOSK_BIN, MONDAY_10, ROOT, Hall, HallProcess, make_id, person
from tests.test_sync import LedgerProcess, last_line, register


def id_with_x() -> str:
    """A valid number whose check character is X (the lower-case x case needs one)."""
    seq = next(s for s in range(1000) if check_char(f"37010219520317{s:03d}") == "X")
    return f"37010219520317{seq:03d}X"


NUMBER = id_with_x()
FULL_WIDTH = NUMBER.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
SPACED = f"{NUMBER[:6]} {NUMBER[6:14]} {NUMBER[14:].lower()}"
DASHED = f"{NUMBER[:6]}-{NUMBER[6:10]}-{NUMBER[10:14]}-{NUMBER[14:]}"
FORMS = {"full-width": FULL_WIDTH, "spaced, lower-case x": SPACED, "dashed": DASHED}
MASKED = NUMBER[:4] + "*" * 10 + NUMBER[-4:]


def needles() -> list[bytes]:
    """The number, or enough of its middle to identify a person, in each form, as UTF-8 bytes."""
    out = []
    for form in (NUMBER, *FORMS.values()):
        out += [form.encode(), form[4:-4].encode(), form.upper().encode()]
    out.append(NUMBER[6:14].encode() + b" ")  # the birth date group of the spaced form
    return out


def scan(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {n!r}" for n in needles() if n in data]
    return found


@pytest.mark.parametrize("form", list(FORMS.values()), ids=list(FORMS))
def test_every_typed_form_is_masked_in_text(form: str) -> None:
    assert scrub(f"我的身份证是{form}，窗口说办不了") == f"我的身份证是{MASKED}，窗口说办不了"
    assert clean_text(f"证件 {form}", 100) == f"证件 {MASKED}"


def test_ordinary_numbers_are_left_alone() -> None:
    """A broken-up run of digits is masked only when it looks like an ID number (a right check digit or a real
    birth date): a phone number next to a date is not one."""
    for text in ("电话 13800138000 2026 11 23 来过", "票号 B012，办件编号 202611230001", "金额 1 200 000 元",
                 "1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8"):
        assert scrub(text) == text


def test_the_identity_field_takes_every_form_as_the_same_person() -> None:
    """The same person typed full-width is the same person (one hash): limits cannot be dodged by typing."""
    key = b"k" * 32
    plain = make_identity({"id_number": NUMBER, "name": "张三"}, key, MONDAY_10.date())
    for form in FORMS.values():
        typed = make_identity({"id_number": form, "name": "张三"}, key, MONDAY_10.date())
        assert (typed.hash, typed.masked) == (plain.hash, plain.masked)


def test_a_full_width_id_number_counts_against_the_same_persons_limits(hall: Hall) -> None:
    number = make_id("19800101", 77)
    wide = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert hall.issue("B", {"id_number": number, "name": "张三"})[0] == 201
    status, body = hall.issue("B", {"id_number": wide, "name": "张三"})
    assert status == 409 and body["error"]["code"] == "BUSINESS_LIMIT"


@pytest.mark.parametrize("contact", [NUMBER, *FORMS.values(), make_id("19800101", 5)])
def test_a_contact_that_is_an_id_number_is_refused(hall: Hall, contact: str) -> None:
    status, body = hall.do("report_matter", {"category": "other", "description": "等太久", "contact": contact})
    assert status == 422 and body["error"]["code"] == "CONTACT_INVALID"
    assert "身份证号" in body["error"]["message"]


def test_a_full_width_phone_number_is_a_phone_number() -> None:
    from kiosk.domain.text import normal_phone

    assert normal_phone("１３８ ００１３ ８０００") == "138 0013 8000"


def test_free_text_in_every_form_never_reaches_disk_events_or_the_ledger(tmp_path: Path) -> None:
    hall = HallProcess(tmp_path / "hall")
    for role in ("kiosk", "counter", "supervisor"):
        hall.enroll(role, f"{role}-1")
    assert hall.cli("clerks", "add", "--id", "7", "--name", "李四", "--pin", "1234").returncode == 0
    ledger = LedgerProcess(f"sqlite:///{tmp_path / 'ledger' / 'ledger.db'}")
    ledger.start()
    hall.start()
    try:
        token, supervisor = register(hall, ledger)
        kiosk, duty = hall.client("kiosk-1"), hall.client("supervisor-1")
        numbers = []
        for name, form in FORMS.items():
            r = kiosk.post("/api/v1/matters", {"category": "other", "description": f"身份证{form}在窗口办不了（{name}）"})
            assert r.status_code == 201 and MASKED in r.json()["matter"]["description"], r.text
            numbers.append(r.json()["matter"]["number"])
            r = kiosk.post("/api/v1/matters", {"category": "other", "description": "等太久", "contact": form})
            assert r.status_code == 422 and r.json()["error"]["code"] == "CONTACT_INVALID"
        kiosk.post("/api/v1/help", {"screen": FULL_WIDTH})
        r = duty.post(f"/api/v1/matters/{numbers[0]}/transition", {"to": "claimed", "note": f"核实证件 {SPACED}",
                                                                     "by": f"值班 {DASHED}"})
        assert r.status_code == 200 and MASKED in r.json()["matter"]["history"][-1]["note"]
        duty.post(f"/api/v1/matters/{numbers[1]}/transition", {"to": "note", "note": f"来电 {FULL_WIDTH}"})
        assert kiosk.post("/api/v1/tickets", {"business": "B", "identity": person(1)}).status_code == 201
        session = hall.client("counter-1").post("/api/v1/windows/2/login", {"clerk_id": "7", "pin": "1234"})
        counter = hall.client("counter-1", session.json()["session"])
        counter.post("/api/v1/windows/2/call-next")
        r = counter.post("/api/v1/windows/2/start", {"identity": person(2), "override_reason": f"本人，证号 {SPACED}"})
        assert r.status_code == 200, r.text
        counter.post("/api/v1/windows/2/pause", {"reason": f"核对 {DASHED}"})

        assert scan(hall.data) == []  # the database and its WAL, while the hall runs, and its logs
        feed = duty.get("/api/v1/events?after=0&limit=1000").text
        assert all(n.decode() not in feed for n in needles()) and MASKED in feed
        out = subprocess.run([*KIOSK_BIN, "sync", "--once", "--ledger", ledger.url, "--token", token,
                              "--data", str(hall.data)], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert out.returncode == 0, out.stderr
        page = requests.get(f"{ledger.url}/dashboard/matters", headers={"Authorization": f"Bearer {supervisor}"},
                            timeout=10).text
        assert "核实证件" in page and all(n.decode() not in page for n in needles())
        assert scan(tmp_path / "ledger") == []
    finally:
        hall.stop()
        ledger.stop()
    assert scan(hall.data) == []
    assert last_line(ledger.cli("verify")).startswith("✓")
