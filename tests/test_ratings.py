"""Ratings come only from the citizen (hall-api.md): the keypad through the counter that finished the service,
by the press's own time; a kiosk with the slip or the holder's card; the phone with the slip's code until the
end of the next working day; one rating per service across all channels. And the 申诉复核 of a bad rating."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from kiosk.hall import feedback, issuing, supervision
from kiosk.hall.context import Device
from tests.helpers import TZ, Hall, HallProcess, person

OTHER_COUNTER = Device(4, "counter-9", "counter")
PHONE = Device(0, "phone", "phone")


def served(hall: Hall, who: int, window: int = 2, business: str = "B") -> str:
    """A ticket taken, called and finished at ``window`` by the hall's counter device."""
    number = hall.number(business, who)
    if window not in hall.sessions:
        hall.login(window)
    status, body = hall.at(window, "call", number=number, reason="测试")
    assert status == 200, body
    assert hall.at(window, "finish")[0] == 200
    return number


def keypad(hall: Hall, number: str, level: int = 5, device: Device | None = None,
           pressed: datetime | str | None = None) -> tuple[int, dict[str, object]]:
    body: dict[str, object] = {"ticket": number, "level": level, "source": "keypad"}
    if pressed is not None:
        body["pressed_at"] = pressed if isinstance(pressed, str) else pressed.isoformat()
    return hall.do("rate", body, device=device or hall.counter)


def code(_hall: Hall, body: tuple[int, dict[str, object]]) -> str:
    error = body[1].get("error")
    return str(error["code"]) if isinstance(error, dict) else str(body[0])


def qr(hall: Hall, number: str) -> str:
    return str(issuing.get_ticket(hall.svc, hall.now, number)["ticket"]["qr"])


def recorded(hall: Hall) -> list[dict[str, object]]:
    return [e["payload"] for e in hall.events() if e["type"] == "rating.recorded"]


def test_a_keypad_rating_comes_only_from_the_counter_that_finished_the_service(hall: Hall) -> None:
    number = served(hall, 1)
    assert code(hall, keypad(hall, number, device=OTHER_COUNTER)) == "RATING_NOT_YOURS"  # another window's PC
    assert code(hall, keypad(hall, number, device=hall.kiosk)) == "RATING_NOT_YOURS"  # a kiosk claiming the keypad
    for source in ("kiosk", "phone"):  # the counter claiming a citizen's other channels
        status, body = hall.do("rate", {"ticket": qr(hall, number), "level": 5, "source": source}, device=hall.counter)
        assert (status, body["error"]["code"]) == (403, "RATING_NOT_YOURS")
    assert recorded(hall) == []
    # each attempt is kept for the duty desk: audited and evented, never a rating
    assert len([a for a in supervision.audit(hall.svc, None, "rating_refused")]) == 4
    assert {e["payload"]["code"] for e in hall.events() if e["type"] == "rating.refused"} == {"RATING_NOT_YOURS"}
    status, body = keypad(hall, number, level=4)
    assert status == 201 and body["rating"]["source"] == "keypad"
    assert [(r["number"], r["level"], r["source"]) for r in recorded(hall)] == [(number, 4, "keypad")]


def test_a_press_counts_by_its_own_time_within_the_keypad_minutes(hall: Hall) -> None:
    minutes = hall.config.ratings.keypad_minutes
    kept = served(hall, 1)
    finished = hall.now
    hall.tick(45)  # the hall was down; the window PC kept the press on its disk
    assert keypad(hall, kept, pressed=finished + timedelta(minutes=2))[0] == 201
    late = served(hall, 2)
    finished = hall.now
    hall.tick(minutes + 5)
    assert code(hall, keypad(hall, late)) == "RATING_CLOSED"  # pressed now: too long after the finish
    assert code(hall, keypad(hall, late, pressed=finished + timedelta(minutes=minutes, seconds=1))) == "RATING_CLOSED"
    # a press time that cannot be this service's press opens no door
    assert code(hall, keypad(hall, late, pressed=finished - timedelta(seconds=1))) == "PRESS_TIME_INVALID"
    assert code(hall, keypad(hall, late, pressed=hall.now + timedelta(minutes=5))) == "PRESS_TIME_INVALID"
    assert code(hall, keypad(hall, late, pressed="2026-11-23T10:20:00")) == "PRESS_TIME_INVALID"  # no offset
    assert code(hall, keypad(hall, late, pressed="soon")) == "PRESS_TIME_INVALID"
    status, body = keypad(hall, late, pressed=finished + timedelta(minutes=minutes))  # the last instant counts
    assert status == 201, body
    assert [r["number"] for r in recorded(hall)] == [kept, late]


def test_a_late_press_counts_only_when_the_hall_was_down_when_it_was_made(hall: Hall) -> None:
    """"A press kept on the window PC while the hall was down": a press claimed for a time the hall was running
    should have reached it within moments; one named long after is a window PC padding, not a kept press."""
    down = served(hall, 1)
    finished = hall.now
    hall.tick(30)
    hall.svc.up_since = hall.now  # the hall came back after the press: the press was kept, it counts
    assert keypad(hall, down, pressed=finished + timedelta(minutes=1))[0] == 201
    padded = served(hall, 2)
    finished = hall.now
    hall.tick(30)  # the hall ran all along
    status, body = keypad(hall, padded, pressed=finished + timedelta(minutes=1))
    assert (status, body["error"]["code"]) == (409, "RATING_CLOSED") and "没有及时送达" in body["error"]["message"]
    hall.tick(-29)  # delivered within moments of a press made while the hall ran: the keypad's own
    assert keypad(hall, padded, pressed=hall.now - timedelta(seconds=30))[0] == 201


def test_a_press_kept_overnight_rates_its_own_days_ticket_not_todays_same_number(tmp_path: Path) -> None:
    hall = Hall(tmp_path, now=datetime(2026, 11, 23, 17, 0, tzinfo=TZ))
    yesterday = served(hall, 1)
    finished = hall.now
    hall.now = datetime(2026, 11, 24, 9, 30, tzinfo=TZ)
    hall.login(2)
    today = served(hall, 2)
    assert today == yesterday  # numbers start again every day
    status, body = keypad(hall, yesterday, level=2, pressed=finished + timedelta(minutes=1))
    assert status == 201, body
    assert [(r["number"], r["day"], r["level"]) for r in recorded(hall)] == [(yesterday, "2026-11-23", 2)]
    assert keypad(hall, today, level=5)[0] == 201  # today's service is still today's to rate
    hall.close()


def test_a_kiosk_rating_needs_the_slip_or_the_holders_own_card(hall: Hall) -> None:
    number = served(hall, 1)
    status, body = hall.do("rate", {"ticket": number, "level": 5, "source": "kiosk"})
    assert (status, body["error"]["code"]) == (403, "RATING_NEEDS_SLIP") and "二维码" in body["error"]["message"]
    stranger = {**person(2), "source": "card"}
    status, body = hall.do("rate", {"ticket": number, "level": 5, "source": "kiosk", "identity": stranger})
    assert (status, body["error"]["code"]) == (403, "RATING_NOT_YOURS")
    slip = qr(hall, number)
    forged = slip[:-1] + ("A" if slip[-1] != "A" else "B")
    assert code(hall, hall.do("rate", {"ticket": forged, "level": 5, "source": "kiosk"})) == "QR_INVALID"
    assert recorded(hall) == []
    status, body = hall.do("rate", {"ticket": number, "level": 3, "source": "kiosk",
                                    "identity": {**person(1), "source": "card"}})
    assert status == 201 and body["rating"]["level"] == 3
    other = served(hall, 3)
    assert hall.do("rate", {"ticket": qr(hall, other), "level": 4, "source": "kiosk"})[0] == 201
    assert [(r["number"], r["source"]) for r in recorded(hall)] == [(number, "kiosk"), (other, "kiosk")]


def test_one_rating_per_service_whichever_channel_comes_first(hall: Hall) -> None:
    first = served(hall, 1)
    assert keypad(hall, first)[0] == 201
    assert code(hall, hall.do("rate_phone", {"c": qr(hall, first), "level": 1}, device=PHONE)) == "RATING_EXISTS"
    second = served(hall, 2)
    assert hall.do("rate_phone", {"c": qr(hall, second), "level": 2, "reasons": ["等候时间太长"]}, device=PHONE)[0] == 201
    assert code(hall, keypad(hall, second)) == "RATING_EXISTS"
    assert code(hall, hall.do("rate", {"ticket": qr(hall, second), "level": 5, "source": "kiosk"})) == "RATING_EXISTS"
    assert [(r["number"], r["source"], r["bad"]) for r in recorded(hall)] == [(first, "keypad", False),
                                                                             (second, "phone", True)]


def test_the_phone_rates_until_the_end_of_the_next_working_day(tmp_path: Path) -> None:
    friday = datetime(2026, 11, 27, 11, 0, tzinfo=TZ)
    hall = Hall(tmp_path, now=friday)
    waiting = hall.number("B", 9)
    number = served(hall, 1)
    slip = qr(hall, number)
    assert code(hall, hall.do("rate_phone", {"c": qr(hall, waiting), "level": 5}, device=PHONE)) == "NOT_RATABLE"
    view = feedback.phone_view(hall.svc, hall.now, slip)
    assert view["rating"] == {"open": True, "rated": False, "level": None, "last_day": "2026-11-30",
                              "closes_at": "2026-12-01T00:00:00.000+08:00"}  # Monday is the next working day
    hall.now = datetime(2026, 11, 30, 23, 59, 59, tzinfo=TZ)  # Monday, the next working day: still open
    late = feedback.phone_view(hall.svc, hall.now, slip)
    assert late["state"] == "done" and late["rating"]["open"] and late["number"] == number
    assert "holder_masked" not in late and person(1)["id_number"] not in str(late)
    hall.now = datetime(2026, 12, 1, 0, 0, tzinfo=TZ)
    assert code(hall, hall.do("rate_phone", {"c": slip, "level": 5}, device=PHONE)) == "RATING_CLOSED"
    with pytest.raises(Exception, match="QR_INVALID"):
        feedback.phone_view(hall.svc, hall.now, slip)  # the page no longer knows the old slip
    hall.now = datetime(2026, 11, 30, 18, 0, tzinfo=TZ)
    status, body = hall.do("rate_phone", {"c": slip, "level": 4}, device=PHONE)
    assert status == 201 and body["rating"]["source"] == "phone"
    assert feedback.phone_view(hall.svc, hall.now, slip)["rating"] == {"open": False, "rated": True, "level": 4,
                                                             "closes_at": "2026-12-01T00:00:00.000+08:00",
                                                             "last_day": "2026-11-30"}
    [event] = [e for e in hall.events() if e["type"] == "rating.recorded"]
    assert event["payload"]["day"] == "2026-11-27" and event["payload"]["source"] == "phone"
    hall.close()


def test_an_appeal_overturns_a_bad_rating_which_stays_on_record_but_leaves_the_counts(hall: Hall) -> None:
    good, bad = served(hall, 1), served(hall, 2)
    keypad(hall, good, level=5)
    keypad(hall, bad, level=1)
    day = hall.now.date().isoformat()

    def appeal(op: str, number: str, **body: object) -> tuple[int, dict[str, object]]:
        return hall.do(op, body, device=hall.supervisor, day=day, number=number)

    assert code(hall, appeal("appeal_rating", good, reason="误评")) == "APPEAL_INVALID"  # only a bad rating
    assert code(hall, appeal("appeal_rating", bad, reason="")) == "REASON_REQUIRED"
    assert code(hall, appeal("decide_appeal", bad, outcome="overturned", reason="x")) == "APPEAL_INVALID"
    assert code(hall, appeal("appeal_rating", "B099", reason="x")) == "RATING_NOT_FOUND"
    status, body = appeal("appeal_rating", bad, reason="群众误按非常不满意，现场已说明", by="值班长王")
    assert status == 200 and body["rating"]["appeal"] == "appealed"
    assert code(hall, appeal("appeal_rating", bad, reason="again")) == "APPEAL_INVALID"
    assert code(hall, appeal("decide_appeal", bad, outcome="maybe", reason="x")) == "APPEAL_INVALID"
    status, body = appeal("decide_appeal", bad, outcome="overturned", reason="调取录像核实：误按，撤销差评")
    assert status == 200 and body["rating"]["appeal"] == "overturned" and body["rating"]["level"] == 1
    assert [s["step"] for s in body["rating"]["appeal_history"]] == ["appealed", "overturned"]
    assert code(hall, appeal("decide_appeal", bad, outcome="upheld", reason="x")) == "APPEAL_INVALID"  # final

    today = supervision.window_summary(hall.svc, hall.now, 2)["today"]
    assert today["ratings"] == {"5": 1} and today["rated"] == 1 and today["average"] == 5.0
    assert today["overturned"] == 1
    [followup] = supervision.followups(hall.svc)
    assert followup["status"] == "overturned" and followup["appeal"] == "overturned"
    events = {e["type"]: e["payload"] for e in hall.events() if e["type"].startswith("rating.appeal")}
    assert events["rating.appealed"] == {"number": bad, "day": day, "reason": "群众误按非常不满意，现场已说明",
                                         "by": "值班长王"}
    assert events["rating.appeal_decided"] == {"number": bad, "day": day, "outcome": "overturned",
                                               "reason": "调取录像核实：误按，撤销差评", "by": "duty-desk"}
    kinds = [a["kind"] for a in supervision.audit(hall.svc, None, None)]
    assert kinds.count("rating_appealed") == 1 and kinds.count("rating_appeal_decided") == 1


def test_an_upheld_appeal_keeps_the_rating_and_its_follow_up(hall: Hall) -> None:
    number = served(hall, 1)
    keypad(hall, number, level=2)
    day = hall.now.date().isoformat()
    hall.do("appeal_rating", {"reason": "窗口认为是恶意差评"}, device=hall.supervisor, day=day, number=number)
    status, body = hall.do("decide_appeal", {"outcome": "upheld", "reason": "核实：等候确实过长，差评成立"},
                           device=hall.supervisor, day=day, number=number)
    assert status == 200 and body["rating"]["appeal"] == "upheld"
    assert supervision.window_summary(hall.svc, hall.now, 2)["today"]["ratings"] == {"2": 1}
    assert supervision.followups(hall.svc)[0]["status"] == "opened"  # still to rectify and call back


def test_a_padded_day_through_the_api_records_only_the_citizens_ratings(tmp_path: Path) -> None:
    """An insider pads the day: a kiosk rates strangers' tickets by their numbers, a counter rates another
    window's services and claims the kiosk channel, and its own service long after the citizen left. Over real
    HTTP only the citizens' own ratings are recorded (before the rules, every padded rating was a 201)."""
    hall = HallProcess(tmp_path / "hall")
    hall.extra_args = ["--speed", "120"]  # the hall clock runs on, so that a keypad window can close
    for role, name in (("kiosk", "kiosk-1"), ("counter", "window-1"), ("counter", "window-2"),
                       ("supervisor", "duty")):
        hall.enroll(role, name)
    assert hall.cli("clerks", "add", "--id", "7", "--name", "李四", "--pin", "1234").returncode == 0
    assert hall.cli("clerks", "add", "--id", "8", "--name", "王五", "--pin", "1234").returncode == 0
    hall.start()
    try:
        kiosk = hall.client("kiosk-1")
        numbers = [kiosk.post("/api/v1/tickets", {"business": "B", "identity": person(i), "accept_wait": True})
                   .json()["ticket"]["number"] for i in range(1, 5)]
        windows = {}
        for w, clerk in ((1, "7"), (2, "8")):
            session = hall.client(f"window-{w}").post(f"/api/v1/windows/{w}/login",
                                                      {"clerk_id": clerk, "pin": "1234"}).json()["session"]
            windows[w] = hall.client(f"window-{w}", session)
        finished: dict[str, int] = {}
        for number, w in zip(numbers, (1, 2, 1, 2), strict=True):
            r = windows[w].post(f"/api/v1/windows/{w}/call", {"number": number, "reason": "测试"})
            assert r.status_code == 200, r.text
            assert windows[w].post(f"/api/v1/windows/{w}/finish").status_code == 200
            finished[number] = w
        honest = numbers[0]  # the citizen at window 1 presses the keypad
        assert windows[1].post("/api/v1/ratings", {"ticket": honest, "level": 4, "source": "keypad"}).status_code == 201

        padded = []
        for number in numbers:  # a kiosk rating strangers' tickets by number
            padded.append(kiosk.post("/api/v1/ratings", {"ticket": number, "level": 5, "source": "kiosk"}))
        for number in numbers:  # window 1's PC rating window 2's services, and claiming the kiosk's channel
            if finished[number] == 2:
                padded.append(windows[1].post("/api/v1/ratings", {"ticket": number, "level": 5, "source": "keypad"}))
            padded.append(windows[1].post("/api/v1/ratings", {"ticket": number, "level": 5, "source": "kiosk"}))
        # window 1 overwriting its own citizen's rating
        padded.append(windows[1].post("/api/v1/ratings", {"ticket": honest, "level": 5, "source": "keypad"}))
        start = hall.client("duty").get("/health").json()["now"]
        deadline = datetime.fromisoformat(start) + timedelta(minutes=11)
        while datetime.fromisoformat(hall.client("duty").get("/health").json()["now"]) < deadline:
            time.sleep(0.05)  # the hall clock runs 120x: the keypad minutes of window 2's services pass
        padded.append(windows[2].post("/api/v1/ratings", {"ticket": numbers[1], "level": 5, "source": "keypad"}))
        codes = [(r.status_code, r.json().get("error", {}).get("code")) for r in padded]
        assert all(status in (403, 409) for status, _ in codes), codes
        assert {c for _, c in codes} == {"RATING_NEEDS_SLIP", "RATING_NOT_YOURS", "RATING_CLOSED", "RATING_EXISTS"}

        events = hall.client("duty").get("/api/v1/events?after=0&limit=1000").json()["events"]
        ratings = [(e["payload"]["number"], e["payload"]["level"]) for e in events if e["type"] == "rating.recorded"]
        assert ratings == [(honest, 4)]
        summary = hall.client("duty").get("/api/v1/windows/2/summary").json()["today"]
        assert summary["rated"] == 0 and summary["ratings"] == {}
        refused = [e for e in events if e["type"] == "rating.refused"]
        assert len(refused) == len([c for c in codes if c[1] in ("RATING_NEEDS_SLIP", "RATING_NOT_YOURS")])
    finally:
        hall.stop()
