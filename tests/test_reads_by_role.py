"""Who may read what (hall-api.md): a display board gets calls, not people; a kiosk sees a holder only in the
answer to the holder's own identity-proved request; a matter is read by the duty desk or with its receipt."""

from __future__ import annotations

from typing import Any

from tests.helpers import HallProcess, person

CALLS = {"ticket.called", "ticket.recalled", "service.finished"}


def a_morning(server: HallProcess) -> dict[str, Any]:
    """A ticket called, recalled, served with an override reason and finished; a matter reported and noted."""
    kiosk, duty = server.client("kiosk-1"), server.client("supervisor-1")
    issued = kiosk.post("/api/v1/tickets", {"business": "B", "identity": person(1)}).json()["ticket"]
    session = server.client("counter-1").post("/api/v1/windows/2/login", {"clerk_id": "7", "pin": "1234"})
    counter = server.client("counter-1", session.json()["session"])
    counter.post("/api/v1/windows/2/call-next")
    counter.post("/api/v1/windows/2/recall")
    counter.post("/api/v1/windows/2/start", {"identity": person(2), "override_reason": "本人已改名，持户口本"})
    counter.post("/api/v1/windows/2/finish")
    matter = kiosk.post("/api/v1/matters", {"category": "other", "description": "窗口说办不了，让我去别处",
                                            "contact": "13812345678"}).json()["matter"]
    duty.post(f"/api/v1/matters/{matter['number']}/transition", {"to": "claimed", "note": "王主任领办"})
    return {"ticket": issued, "matter": matter}


def test_a_display_gets_calls_only_with_number_business_and_window(server: HallProcess) -> None:
    a_morning(server)
    board = server.client("display-1").get("/api/v1/events?after=0&limit=1000")
    events = board.json()["events"]
    assert [e["type"] for e in events] == ["ticket.called", "ticket.recalled", "service.finished"]
    for e in events:
        assert e["payload"] == {"number": "B001", "business": "B", "window": 2}
        assert set(e) == {"seq", "id", "type", "at", "payload"}  # no device, no hashes of what it cannot see
    for secret in ("窗口说办不了", "本人已改名", "王主任", "李四", "holder", "clerk_id", "13812345678"):
        assert secret not in board.text
    everything = server.client("supervisor-1").get("/api/v1/events?after=0&limit=1000").json()["events"]
    assert {e["type"] for e in everything} > CALLS  # the duty desk still reads the whole feed
    assert any("本人已改名" in str(e["payload"]) for e in everything)


def test_a_ticket_read_by_number_or_scan_carries_no_holder_for_a_display_or_a_kiosk(server: HallProcess) -> None:
    ticket = a_morning(server)["ticket"]
    assert ticket["holder_masked"] and ticket["qr"]  # the holder's own request: their slip, with the holder
    for name in ("display-1", "kiosk-1"):
        read = server.client(name).get("/api/v1/tickets/B001").json()["ticket"]
        assert read["number"] == "B001" and read["state"] == "done"
        assert not {"holder_masked", "name_masked", "qr"} & set(read)  # the signed code opens the phone page
        scanned = server.client(name).post("/api/v1/tickets/verify", {"qr": ticket["qr"]}).json()["ticket"]
        assert scanned["number"] == "B001" and not {"holder_masked", "name_masked"} & set(scanned)
    full = server.client("supervisor-1").get("/api/v1/tickets/B001").json()["ticket"]
    assert full["holder_masked"] == ticket["holder_masked"] and full["qr"] == ticket["qr"]
    again = server.client("kiosk-1").post("/api/v1/tickets/B001/reprint", {"identity": person(1)}).json()["ticket"]
    assert again["holder_masked"] == ticket["holder_masked"]  # reprint: identity-proved, so the holder is there


def test_a_matter_is_read_by_the_duty_desk_or_with_its_receipt(server: HallProcess) -> None:
    matter = a_morning(server)["matter"]
    number, receipt = matter["number"], matter["qr"]
    for name in ("kiosk-1", "display-1", "counter-1"):
        r = server.client(name).get(f"/api/v1/matters/{number}")
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN"
        assert "窗口说办不了" not in r.text
    mine = server.client("kiosk-1").get(f"/api/v1/matters/{number}?code={receipt}")
    assert mine.status_code == 200 and mine.json()["matter"]["history"][-1]["note"] == "王主任领办"
    other = server.client("kiosk-1").post("/api/v1/matters", {"category": "other", "description": "另一件事"})
    r = server.client("kiosk-1").get(f"/api/v1/matters/{other.json()['matter']['number']}?code={receipt}")
    assert r.status_code == 403  # a receipt opens its own matter only
    forged = receipt[:-3] + ("AAA" if not receipt.endswith("AAA") else "BBB")
    assert server.client("kiosk-1").get(f"/api/v1/matters/{number}?code={forged}").status_code == 422
    scanned = server.client("kiosk-1").post("/api/v1/matters/verify", {"qr": receipt})  # the kiosk's scan flow
    assert scanned.status_code == 200 and scanned.json()["matter"]["number"] == number
    assert server.client("supervisor-1").get(f"/api/v1/matters/{number}").status_code == 200


def test_the_queue_shows_a_board_the_duty_desks_decisions_without_their_reasons(server: HallProcess) -> None:
    duty = server.client("supervisor-1")
    r = duty.post("/api/v1/windows/4/open-temporary", {"businesses": ["B"], "reason": "张三投诉排队太久"})
    assert r.status_code in (200, 201), r.text
    session = server.client("counter-1").post("/api/v1/windows/2/login", {"clerk_id": "7", "pin": "1234"})
    assert session.status_code == 200
    for name in ("display-1", "kiosk-1"):
        queue = server.client(name).get("/api/v1/queue").json()
        assert queue["decisions"] and "张三" not in str(queue) and "reason" not in queue["decisions"][0]
        assert next(w for w in queue["windows"] if w["number"] == 2)["state"] == "open"
        assert all("clerk_id" not in w for w in queue["windows"])  # who works where is the staff's business
    assert next(w for w in server.client("counter-1").get("/api/v1/queue").json()["windows"]
                if w["number"] == 2)["clerk_id"] == "7"
    assert "张三投诉" in str(duty.get("/api/v1/queue").json()["decisions"])
