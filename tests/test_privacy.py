"""No raw ID number or name reaches disk, logs or events (R9)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import HallProcess, make_id, person

SECRET_IDS = [make_id("19520317", 481, "370102"), make_id("19881109", 736, "440305"),
              make_id("19700203", 915, "510104")]
SECRET_NAMES = ["欧阳秘密", "司马隐私", "诸葛保密"]


def needles() -> list[bytes]:
    out: list[bytes] = []
    for number in SECRET_IDS:
        out += [number.encode(), number[4:14].encode(), number.encode("utf-16-le")]
    for name in SECRET_NAMES:
        out += [name.encode(), name.encode("utf-16-le"), name.encode("gb18030")]
    return out


def scan(root: Path) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {n!r}" for n in needles() if n in data]
    return found


def test_no_raw_identity_on_disk_in_logs_or_events(server: HallProcess) -> None:
    kiosk = server.client("kiosk-1")
    who = [{"id_number": n, "name": m} for n, m in zip(SECRET_IDS, SECRET_NAMES, strict=True)]
    assert kiosk.post("/api/v1/tickets", {"business": "B", "identity": who[0]}).status_code == 201
    assert kiosk.post("/api/v1/tickets", {"business": "B", "identity": who[0]}).status_code == 409  # refusal path
    bad = dict(who[1], id_number=who[1]["id_number"][:-1] + ("0" if who[1]["id_number"][-1] != "0" else "1"))
    assert kiosk.post("/api/v1/tickets", {"business": "B", "identity": bad}).status_code == 422
    r = kiosk.post("/api/v1/tickets", {"business": "D", "agent": {"identity": who[1], "principals": [who[2]]}})
    assert r.status_code == 201
    session = server.client("counter-1").post("/api/v1/windows/2/login", {"clerk_id": "7", "pin": "1234"})
    counter = server.client("counter-1", session.json()["session"])
    counter.post("/api/v1/windows/2/call-next")
    assert counter.post("/api/v1/windows/2/start", {"identity": who[2]}).status_code == 409
    counter.post("/api/v1/windows/2/start", {"identity": who[2], "override_reason": f"本人 {who[2]['id_number']}"})
    counter.post("/api/v1/windows/2/notice", {"missing": ["tax"]})
    counter.post("/api/v1/windows/2/finish")
    counter.post("/api/v1/ratings", {"ticket": "B001", "level": 1, "source": "keypad",
                                     "reasons": [f"证件号{SECRET_IDS[1]}被念出来"]})
    kiosk.post("/api/v1/matters", {"category": "other",
                                   "description": f"身份证{SECRET_IDS[0]}在窗口办不了，我是{SECRET_NAMES[0][:1]}先生"})
    kiosk.post("/api/v1/tickets/B001/reprint", {"identity": who[1]})
    server.client("supervisor-1").post("/api/v1/blocklist", {"identity": who[1], "reason": "测试"})
    # while running: database, WAL and logs as they are on disk
    assert scan(server.data) == []
    events = server.client("supervisor-1").get("/api/v1/events?after=0&limit=1000").text
    responses = kiosk.get("/api/v1/tickets/B001").text + kiosk.get("/api/v1/queue").text
    for number in SECRET_IDS:
        assert number not in events and number not in responses
    for name in SECRET_NAMES:
        assert name not in events and name not in responses
    server.stop()
    assert scan(server.data) == []


def test_an_agents_booking_keeps_no_raw_identity(tmp_path: Path) -> None:
    """Over capacity an agent's offer and booking carry the people represented from one request to the next (and
    to check-in): as keyed hashes and masked forms only, on disk, in events and in the answers."""
    server = HallProcess(tmp_path / "data", now="2026-11-23T17:00:00+08:00")
    for role in ("kiosk", "supervisor"):
        server.enroll(role, f"{role}-1")
    server.start()
    try:
        kiosk = server.client("kiosk-1")
        for i in range(3):  # the rest of the day is full for B
            body = {"business": "B", "identity": person(900 + i), "accept_wait": True}
            assert kiosk.post("/api/v1/tickets", body).status_code == 201
        who = [{"id_number": n, "name": m} for n, m in zip(SECRET_IDS, SECRET_NAMES, strict=True)]
        r = kiosk.post("/api/v1/tickets", {"business": "B", "agent": {"identity": who[0], "principals": who[1:]}})
        assert r.status_code == 200 and r.json()["over_capacity"] is True, r.text
        offer_id = r.json()["booking_offer"]["offer_id"]
        assert kiosk.post("/api/v1/bookings", {"offer_id": offer_id, "identity": who[1]}).status_code == 409
        booked = kiosk.post("/api/v1/bookings", {"offer_id": offer_id, "identity": who[0]})
        assert booked.status_code == 201 and len(booked.json()["booking"]["principals_masked"]) == 2
        assert scan(server.data) == []
        events = server.client("supervisor-1").get("/api/v1/events?after=0&limit=1000").text
        assert "booking.created" in events
        for secret in [*SECRET_IDS, *SECRET_NAMES]:
            assert secret not in events and secret not in booked.text and secret not in r.text
    finally:
        server.stop()
    assert scan(server.data) == []
