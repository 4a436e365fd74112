"""扫码查看排队进度: a citizen follows the ticket on a phone. The slip's QR is the hall's public address with
the signed code; the page (headless Chromium at a phone's size) follows the ticket through waiting, called
and served; a forged or another day's code gets the same "not found". Screenshots stay in build/phone/."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from kiosk.domain import codes
from tests.browser import Browser
from tests.helpers import DEFAULT_CONFIG, ROOT, Client, HallProcess, make_id

ARTEFACTS = ROOT / "build" / "phone"
PHONE = (390, 844)  # a common phone's CSS pixels


def public_hall(tmp: Path) -> HallProcess:
    """A hall whose public address is itself (in a hall, a reverse proxy in front of /q)."""
    folder = tmp / "config"
    shutil.copytree(DEFAULT_CONFIG.parent, folder, ignore=shutil.ignore_patterns("drills"))
    hall = HallProcess(tmp / "data", config=folder / "hall.toml")
    text = (folder / "hall.toml").read_text(encoding="utf-8")
    (folder / "hall.toml").write_text(text.replace("[hall]\n", f'[hall]\npublic_url = "{hall.url}"\n', 1),
                                      encoding="utf-8")
    for role in ("kiosk", "counter"):
        hall.enroll(role, f"{role}-1")
    assert hall.cli("clerks", "add", "--id", "7", "--name", "李四", "--pin", "1234").returncode == 0
    return hall


@pytest.fixture
def hall(tmp_path: Path) -> Iterator[HallProcess]:
    h = public_hall(tmp_path)
    h.start()
    yield h
    h.stop()


def issue(kiosk: Client, i: int, business: str = "B") -> dict[str, object]:
    r = kiosk.post("/api/v1/tickets", {"business": business, "accept_wait": True,
                                       "identity": {"id_number": make_id("19800101", i), "name": "", "source": "card"}})
    assert r.status_code == 201, r.text
    ticket: dict[str, object] = r.json()["ticket"]
    return ticket


def test_the_slip_qr_is_the_halls_address_with_the_signed_code(hall: HallProcess) -> None:
    kiosk = hall.client("kiosk-1")
    ticket = issue(kiosk, 1)
    qr = str(ticket["qr"])
    assert qr.startswith(hall.url + "/q?c=HT1")
    code = parse_qs(urlparse(qr).query)["c"][0]
    # a kiosk's scanner reads both forms: the rating and the check of a slip accept the URL as the code
    for scanned in (qr, code):
        r = kiosk.post("/api/v1/tickets/verify", {"qr": scanned})
        assert r.status_code == 200 and r.json()["ticket"]["number"] == ticket["number"]
    assert codes.code_of(qr) == code


def signed_in(hall: HallProcess, window: int) -> Client:
    """The clerk "7" at ``window``: the counter's client with the session."""
    counter = hall.client("counter-1")
    r = counter.post(f"/api/v1/windows/{window}/login", {"clerk_id": "7", "pin": "1234"})
    assert r.status_code == 200, r.text
    return hall.client("counter-1", r.json()["session"])


def test_a_phone_follows_its_ticket_through_waiting_called_and_served(hall: HallProcess) -> None:
    kiosk = hall.client("kiosk-1")
    ahead = [issue(kiosk, i) for i in range(1, 6)]  # five people before ours
    mine = issue(kiosk, 9)
    window = signed_in(hall, 2)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser = Browser(*PHONE)
    try:
        browser.goto(str(mine["qr"]))
        browser.wait_for(f"document.getElementById('number').textContent === '{mine['number']}'")
        browser.wait_for("document.getElementById('ahead').textContent === '5'")
        page = browser.html()
        assert "前面还有" in page and "预计等候" in page
        # the wait is the hall's range (十次里约有八次), the same figures the ticket read gives
        told = browser.eval("document.getElementById('wait').textContent")
        assert re.fullmatch(r"\d+(–\d+)?", told), told
        assert "十次里约有八次" in browser.eval("document.getElementById('range').textContent")
        assert "测试" not in page and make_id("19800101", 9) not in page  # nothing personal
        browser.screenshot(ARTEFACTS / "1-waiting.png")
        for _ in range(3):  # the window serves three of those before ours: two left, "come back" shows
            assert window.post("/api/v1/windows/2/call-next").status_code == 200
            assert window.post("/api/v1/windows/2/finish").status_code == 200
        browser.wait_for("document.getElementById('ahead').textContent === '2'", timeout=30)
        browser.wait_for("document.getElementById('alert').className === 'soon'")
        assert "请回到大厅" in browser.eval("document.getElementById('alert').textContent")
        browser.screenshot(ARTEFACTS / "2-three-ahead.png")
        for _ in range(2):
            window.post("/api/v1/windows/2/call-next")
            window.post("/api/v1/windows/2/finish")
        r = window.post("/api/v1/windows/2/call-next")
        assert r.json()["ticket"]["number"] == mine["number"]
        browser.wait_for("document.getElementById('alert').className === 'called'", timeout=30)
        assert "请到 2 号窗口" in browser.eval("document.getElementById('alert').textContent")
        browser.screenshot(ARTEFACTS / "3-called.png")
        assert window.post("/api/v1/windows/2/start", {}).status_code in (200, 409)
        window.post("/api/v1/windows/2/finish")
        browser.wait_for("document.getElementById('state').textContent.startsWith('已办结')", timeout=30)
        browser.screenshot(ARTEFACTS / "4-served.png")
        assert ahead  # the others were served in order before
    finally:
        browser.close()


def test_a_phone_is_told_when_the_windows_of_its_business_have_gone_home(hall: HallProcess) -> None:
    """Window 5 alone serves Q. Its clerk serves one citizen and logs out for the day: the phone of the one still
    waiting, next in line, no longer shows minutes or "come back to the hall" (nobody will call it), but that
    it may not be called today and where to ask."""
    kiosk = hall.client("kiosk-1")
    first, mine = issue(kiosk, 1, "Q"), issue(kiosk, 2, "Q")
    window = signed_in(hall, 5)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser = Browser(*PHONE)
    try:
        browser.goto(str(mine["qr"]))
        browser.wait_for("document.getElementById('ahead').textContent === '1'")
        assert browser.eval("getComputedStyle(document.getElementById('waitbox')).display") != "none"
        assert window.post("/api/v1/windows/5/call-next").json()["ticket"]["number"] == first["number"]
        assert window.post("/api/v1/windows/5/finish").status_code == 200
        assert window.post("/api/v1/windows/5/logout").status_code == 200
        browser.wait_for("document.getElementById('alert').className === 'gone'", timeout=30)
        alert = browser.eval("document.getElementById('alert').textContent")
        assert "今天可能叫不到" in alert and "服务台" in alert and "may not be called today" in alert
        assert "请回到大厅" not in alert  # next in line, but nobody will call it
        assert browser.eval("getComputedStyle(document.getElementById('waitbox')).display") == "none"
        assert browser.eval("document.getElementById('range').textContent") == ""
        browser.screenshot(ARTEFACTS / "5-windows-gone.png")
    finally:
        browser.close()


def test_a_forged_or_old_code_gets_the_same_not_found(hall: HallProcess, tmp_path: Path) -> None:
    kiosk = hall.client("kiosk-1")
    code = codes.code_of(str(issue(kiosk, 1)["qr"]))
    forged = code[:-3] + ("AAA" if not code.endswith("AAA") else "BBB")
    _, hall_id, day, number, _sig = code.split(":")
    yesterday = f"HT1:{hall_id}:{int(day) - 1}:{number}:{_sig}"
    other = f"HT1:other-hall:{day}:{number}:{_sig}"
    pages = {name: requests.get(f"{hall.url}/q", params={"c": c}, timeout=10)
             for name, c in {"forged": forged, "yesterday": yesterday, "other hall": other, "junk": "<script>",
                             "empty": ""}.items()}
    assert {name: r.status_code for name, r in pages.items()} == dict.fromkeys(pages, 404)
    assert len({r.text for r in pages.values()}) == 1 and "没有找到这张小票" in pages["forged"].text
    status = requests.get(f"{hall.url}/q/status", params={"c": forged}, timeout=10)
    assert status.status_code == 404 and status.json()["error"]["code"] == "NOT_FOUND"
    browser = Browser(*PHONE)
    try:
        browser.goto(f"{hall.url}/q?c={forged}")
        assert "没有找到这张小票" in browser.html()
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        browser.screenshot(ARTEFACTS / "5-not-found.png")
    finally:
        browser.close()


def test_a_new_page_is_answered_at_once_and_a_following_one_every_few_seconds(hall: HallProcess) -> None:
    """A phone opening the page gets the status at once; a page following it gets at most one answer per
    MIN_GAP (jittered), however busy the hall, so that 500 phones cost the hall little."""
    from kiosk.hall.phone import MIN_GAP

    kiosk = hall.client("kiosk-1")
    code = codes.code_of(str(issue(kiosk, 1)["qr"]))
    first = requests.get(f"{hall.url}/q/status", params={"c": code}, timeout=10)
    assert first.elapsed.total_seconds() < 2
    body = first.json()
    assert set(body) == {"number", "business", "state", "ahead", "expected_wait_min", "expected_wait_range_min",
                         "expected_today", "window", "seq", "at", "rating"}
    assert body["rating"] == {"open": False, "rated": False, "level": None, "closes_at": None,
                              "last_day": None}  # not served yet
    issue(kiosk, 2)  # the hall moves on while the page waits
    following = requests.get(f"{hall.url}/q/status", params={"c": code, "after": body["seq"], "wait": 20},
                             timeout=30)
    assert MIN_GAP <= following.elapsed.total_seconds() < MIN_GAP * 1.6 + 2
    assert following.json()["seq"] > body["seq"]


def luminance(css: str) -> float:
    r, g, b = (int(x) / 255 for x in css[css.index("(") + 1:css.index(")")].split(",")[:3])
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(fg: str, bg: str) -> float:
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return (a + 0.05) / (b + 0.05)


SPY = ("window.__spoken = []; speechSynthesis.speak = u => window.__spoken.push([u.text, u.lang]); "
       "speechSynthesis.cancel = () => {}; true")


def test_a_finished_service_turns_the_page_into_five_large_spoken_faces(hall: HallProcess) -> None:
    """一次一评 on the phone: once served, the page offers the five faces (large, high contrast, read aloud in
    Mandarin), then the reasons for a bad rating; the rating reaches the hall once, and the page thanks."""
    kiosk = hall.client("kiosk-1")
    mine = issue(kiosk, 3)
    counter = hall.client("counter-1")
    session = counter.post("/api/v1/windows/2/login", {"clerk_id": "7", "pin": "1234"}).json()["session"]
    window = hall.client("counter-1", session)
    assert window.post("/api/v1/windows/2/call-next").json()["ticket"]["number"] == mine["number"]
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    browser = Browser(*PHONE)
    try:
        browser.goto(str(mine["qr"]))
        browser.wait_for("document.getElementById('alert').className === 'called'")
        assert browser.eval("document.getElementById('rate').hidden") is True  # not before the service is done
        browser.eval(SPY)
        window.post("/api/v1/windows/2/finish")  # the citizen walks out before the keypad asks
        browser.wait_for("document.querySelectorAll('#rate .face').length === 5", timeout=30)
        page = browser.html()
        assert "请为本次服务评价" in page and "非常满意" in page and "非常不满意" in page
        assert "11月24日当天结束前都可以评价" in page  # the next working day after Monday 23 November
        assert make_id("19800101", 3) not in page and "1101" not in page  # never an identity
        faces = browser.eval("[...document.querySelectorAll('#rate .face')].map(b => { const s = getComputedStyle(b), "
                             "r = b.getBoundingClientRect(); return [r.width, r.height, parseFloat(s.fontSize), "
                             "s.color, s.backgroundColor]; })")
        for width, height, size, fg, bg in faces:
            assert width >= 300 and height >= 64 and size >= 28  # a thumb's target, text read without glasses
            assert contrast(fg, bg) >= 7, (fg, bg)  # WCAG AAA
        browser.screenshot(ARTEFACTS / "6-rate-faces.png")
        browser.eval("document.getElementById('speak').click(); true")
        spoken = browser.eval("window.__spoken")
        assert spoken[-1][1] == "zh-CN" and spoken[-1][0].startswith("请为本次服务评价") and "非常满意" in spoken[-1][0]
        browser.eval("document.querySelector('#rate .face[data-level=\"2\"]').click(); true")
        browser.wait_for("!document.getElementById('reasons').hidden")
        shown = "[...document.querySelectorAll('#rate .face')].filter(b => b.getClientRects().length > 0)"
        assert browser.eval(f"{shown}.map(b => b.dataset.level)") == ["2"]  # the choice stays, with its reasons
        assert "请选择不满意的原因" in browser.eval("window.__spoken")[-1][0]
        browser.eval("document.querySelector('#reasons .chip').click(); true")
        assert browser.eval("document.querySelector('#reasons .chip').getAttribute('aria-pressed')") == "true"
        browser.screenshot(ARTEFACTS / "7-rate-reasons.png")
        browser.eval("document.getElementById('send').click(); true")
        browser.wait_for("document.getElementById('thanks') !== null")
        assert "不满意" in browser.eval("document.getElementById('thanks').textContent")
        assert browser.eval("window.__spoken")[-1][0] == "感谢您的评价。"
        browser.screenshot(ARTEFACTS / "8-rate-thanks.png")
        browser.goto(str(mine["qr"]))  # opened again: rated once, so thanks and no faces
        browser.wait_for("document.getElementById('thanks') !== null")
        assert browser.eval("document.querySelectorAll('#rate .face').length") == 0
    finally:
        browser.close()
    code = codes.code_of(str(mine["qr"]))
    again = requests.post(f"{hall.url}/q/rating", json={"c": code, "level": 5}, timeout=10)
    assert again.status_code == 409 and again.json()["error"]["code"] == "RATING_EXISTS"
    other = "B" if code[-1] == "A" else "A"  # the signature's last character changed (1 in 32 codes ends in A)
    forged = requests.post(f"{hall.url}/q/rating", json={"c": code[:-1] + other, "level": 5}, timeout=10)
    assert forged.status_code == 422 and forged.json()["error"]["code"] == "QR_INVALID"
    keypad = window.post("/api/v1/ratings", {"ticket": mine["number"], "level": 5, "source": "keypad"})
    assert keypad.status_code == 409 and keypad.json()["error"]["code"] == "RATING_EXISTS"  # one per service
    status = requests.get(f"{hall.url}/q/status", params={"c": code}, timeout=10).json()
    assert status["rating"]["rated"] is True and status["rating"]["level"] == 2
