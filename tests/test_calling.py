"""Calling in order, with a trace for every exception; service, notices, transfers, ratings."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from kiosk.contract.requests import Login
from kiosk.hall import issuing, supervision
from tests.helpers import Hall, example_config, make_id, person


def elder(i: int) -> dict[str, str]:
    return {"id_number": make_id("19400101", i), "name": "老人"}


def test_counter_actions_need_a_session(hall: Hall) -> None:
    hall.number("B", 1)
    status, body = hall.at(1, "call-next")
    assert status == 401 and body["error"]["code"] == "SESSION_INVALID"


def test_pin_lockout_after_repeated_failures(hall: Hall) -> None:
    from kiosk.hall.context import Call

    hall.add_clerk("7", pin="1234")
    for left in (4, 3, 2, 1):
        status, body = hall.run(Call(hall.counter, hall.now), Login(window=1, clerk_id="7", pin="0000"))
        assert status == 401 and body["error"]["attempts_left"] == left
    status, body = hall.run(Call(hall.counter, hall.now), Login(window=1, clerk_id="7", pin="0000"))
    assert status == 423 and body["error"]["code"] == "CLERK_LOCKED"
    status, _ = hall.run(Call(hall.counter, hall.now), Login(window=1, clerk_id="7", pin="1234"))
    assert status == 423  # the right PIN does not help while locked
    hall.tick(16)
    assert hall.run(Call(hall.counter, hall.now), Login(window=1, clerk_id="7", pin="1234"))[0] == 200
    stored = hall.store.reader().execute("SELECT pin_hash FROM clerks").fetchone()[0]
    assert "1234" not in stored.split("$") and stored.startswith("scrypt+hmac$")  # peppered with the hall's key


def test_calls_follow_issue_order_per_window_businesses(hall: Hall) -> None:
    b1, d1, b2 = hall.number("B", 1), hall.number("D", 2), hall.number("B", 3)
    hall.login(2)  # window 2 serves B and C
    hall.login(3, clerk="8")  # window 3 serves D, E, F
    assert hall.at(2, "call-next")[1]["ticket"]["number"] == b1
    assert hall.at(3, "call-next")[1]["ticket"]["number"] == d1
    status, body = hall.at(2, "call-next")
    assert status == 409 and body["error"]["code"] == "WINDOW_BUSY"
    hall.at(2, "finish")
    assert hall.at(2, "call-next")[1]["ticket"]["number"] == b2
    hall.at(2, "finish")
    status, body = hall.at(2, "call-next")
    assert status == 404 and body["error"]["code"] == "QUEUE_EMPTY"


def test_out_of_order_call_needs_a_reason_and_is_audited(hall: Hall) -> None:
    first, second = hall.number("B", 1), hall.number("B", 2)
    hall.login(2)
    status, body = hall.at(2, "call", number=second)
    assert status == 422 and body["error"]["code"] == "REASON_REQUIRED"
    status, body = hall.at(2, "call", number=second, reason="  ")
    assert status == 422
    assert hall.state(second) == "waiting"
    status, body = hall.at(2, "call", number=second, reason="孕妇身体不适，提前办理")
    assert status == 200 and body["ticket"]["number"] == second
    entries = supervision.audit(hall.svc, None, "out_of_order_call")
    assert len(entries) == 1
    entry = entries[0]
    assert entry["ticket"] == second and entry["clerk_id"] == "7" and entry["window"] == 2
    assert entry["reason"] == "孕妇身体不适，提前办理" and entry["detail"]["skipped"] == first
    called = [e for e in hall.events() if e["type"] == "ticket.called"][-1]
    assert called["payload"]["out_of_order"] is True


def test_calling_the_head_by_number_is_not_an_exception(hall: Hall) -> None:
    first = hall.number("B", 1)
    hall.login(2)
    assert hall.at(2, "call", number=first, reason="就是下一位")[0] == 200
    assert supervision.audit(hall.svc, None, "out_of_order_call") == []


def test_priority_interleaves_and_never_starves_normal(tmp_path: Path) -> None:
    hall = Hall(tmp_path, example_config(limits={"kiosk_burst": None}))
    normal = [hall.number("B", i) for i in range(3)]
    prio = [hall.number("B", elder(i)) for i in range(5)]
    hall.login(2)
    order = []
    for _ in range(8):
        order.append(hall.at(2, "call-next")[1]["ticket"]["number"])
        hall.at(2, "finish")
    assert order == [prio[0], prio[1], normal[0], prio[2], prio[3], normal[1], prio[4], normal[2]]
    hall.close()


def test_recall_and_no_show_after_configured_calls(tmp_path: Path) -> None:
    hall = Hall(tmp_path, example_config(calling={"no_show_after_calls": 2}))
    number = hall.number("B", 1)
    hall.login(2)
    hall.at(2, "call-next")
    status, body = hall.at(2, "no-show")
    assert status == 409 and body["error"]["code"] == "RECALL_FIRST"
    assert hall.at(2, "recall")[1]["ticket"]["calls"] == 2
    assert hall.at(2, "no-show")[1]["ticket"]["state"] == "no_show"
    assert hall.state(number) == "no_show"
    types = [e["type"] for e in hall.events()]
    assert "ticket.recalled" in types and "ticket.no_show" in types
    hall.close()


def test_identity_match_at_start(hall: Hall) -> None:
    number = hall.number("B", 1)
    hall.login(2)
    hall.at(2, "call-next")
    status, body = hall.at(2, "start", identity=person(2))
    assert status == 409 and body["error"]["code"] == "IDENTITY_MISMATCH"
    assert hall.state(number) == "called"
    assert [a["kind"] for a in supervision.audit(hall.svc, None, None)] == ["identity_mismatch"]
    # finishing or starting without an ID cannot slip past a recorded mismatch
    assert hall.at(2, "finish")[1]["error"]["code"] == "IDENTITY_MISMATCH"
    assert hall.at(2, "start")[1]["error"]["code"] == "IDENTITY_MISMATCH"
    status, body = hall.at(2, "start", identity=person(2), override_reason="本人证件遗失，持临时身份证明")
    assert status == 200 and body["identity_match"] is False
    override = supervision.audit(hall.svc, None, "identity_override")[0]
    assert override["reason"] == "本人证件遗失，持临时身份证明" and override["ticket"] == number


def test_identity_match_passes_for_the_holder(hall: Hall) -> None:
    hall.number("B", 1)
    hall.login(2)
    hall.at(2, "call-next")
    status, body = hall.at(2, "start", identity=person(1))
    assert status == 200 and body["identity_match"] is True and body["ticket"]["state"] == "serving"


def test_one_time_notice_and_repeat_flag(hall: Hall) -> None:
    hall.number("B", 1)
    hall.login(2)
    hall.at(2, "call-next")
    hall.at(2, "start")
    status, body = hall.at(2, "notice", missing=["marriage", "tax", "marriage"])
    assert status == 201
    notice = body["notice"]
    assert [m["id"] for m in notice["missing"]] == ["marriage", "tax"]
    assert notice["repeat"] is False and notice["window"] == 2 and notice["clerk_name"] == "李四"
    assert hall.at(2, "notice", missing=["passport"])[1]["error"]["code"] == "MATERIAL_UNKNOWN"
    assert hall.at(2, "notice", missing=[])[1]["error"]["code"] == "MISSING_REQUIRED"
    hall.at(2, "finish")
    # the citizen comes back the next day for the same business: a second notice is flagged
    hall.tick(24 * 60)
    hall.number("B", 1)
    hall.login(2)
    hall.at(2, "call-next")
    status, body = hall.at(2, "notice", missing=["contract"])
    assert status == 201 and body["notice"]["repeat"] is True
    assert body["notice"]["first_notice"] == notice["number"]
    assert supervision.audit(hall.svc, None, "repeat_notice")


def test_transfer_keeps_the_place(hall: Hall) -> None:
    first = hall.number("B", 1)
    later = [hall.number("D", i) for i in range(2, 5)]
    hall.login(2)
    hall.login(3, clerk="8")
    hall.at(2, "call-next")
    status, body = hall.at(2, "transfer", to_business="D")
    assert status == 422 and body["error"]["code"] == "REASON_REQUIRED"
    status, body = hall.at(2, "transfer", to_business="D", reason="需先办理抵押登记")
    assert status == 200 and body["ticket"]["state"] == "transferred" and body["ticket"]["number"] == first
    assert body["ticket"]["ahead"] == 0  # ahead of the D tickets issued after it
    assert hall.at(3, "call-next")[1]["ticket"]["number"] == first
    hall.at(3, "finish")
    assert hall.at(3, "call-next")[1]["ticket"]["number"] == later[0]
    audit = supervision.audit(hall.svc, None, "transfer")[0]
    assert audit["reason"] == "需先办理抵押登记" and audit["detail"]["to_business"] == "D"


def test_transfer_to_a_window(hall: Hall) -> None:
    hall.number("B", 1)
    hall.number("B", 2)
    hall.login(2)
    hall.login(1, clerk="8")
    moved = hall.at(2, "call-next")[1]["ticket"]["number"]
    hall.at(2, "transfer", to_window=1, reason="需综合窗口处理")
    assert hall.at(2, "call-next")[1]["ticket"]["number"] != moved
    assert hall.at(1, "call-next")[1]["ticket"]["number"] == moved
    assert hall.at(1, "transfer", to_window=99, reason="x")[1]["error"]["code"] == "WINDOW_UNKNOWN"


def test_pause_needs_a_reason_and_stops_calls(hall: Hall) -> None:
    hall.number("B", 1)
    hall.login(2)
    assert hall.at(2, "pause")[1]["error"]["code"] == "REASON_REQUIRED"
    assert hall.at(2, "pause", reason="系统故障")[0] == 200
    assert hall.at(2, "call-next")[1]["error"]["code"] == "WINDOW_PAUSED"
    hall.at(2, "resume")
    assert hall.at(2, "call-next")[0] == 200


def test_a_pause_that_says_how_long_is_counted_in_every_wait_told_meanwhile(hall: Hall) -> None:
    """Window 2 (B and C here) goes to lunch for an hour: a B ticket issued during the pause is told a wait
    from the window's return, not from the half hour a pause without a length is assumed to last."""
    hall.login(2)
    for who in range(1, 4):
        hall.number("B", who)
    assert hall.at(2, "pause", reason="午休", minutes=0)[1]["error"]["code"] == "BAD_REQUEST"
    status, body = hall.at(2, "pause", reason="午休", minutes=60)
    assert status == 200 and body["window"]["back_at"] == hall.svc.iso(hall.now + timedelta(minutes=60))
    told = hall.issue("B", 10)[1]["ticket"]["expected_wait_min"]
    hall.at(2, "resume")
    hall.at(2, "pause", reason="系统故障")  # no length: assumed half an hour
    assumed = hall.issue("B", 11)[1]["ticket"]["expected_wait_min"]
    assert told >= 60 and assumed < told, (told, assumed)
    assert [e["payload"].get("minutes") for e in hall.events() if e["type"] == "window.paused"] == [60, None]


def test_finish_produces_a_rating_request_and_one_rating_per_service(hall: Hall) -> None:
    number = hall.number("B", 1)
    hall.login(2)
    hall.at(2, "call-next")
    assert hall.do("rate", {"ticket": number, "level": 5, "source": "keypad"},
                   device=hall.counter)[1]["error"]["code"] == "NOT_RATABLE"
    hall.at(2, "start", identity=person(1))
    hall.tick(12)
    status, body = hall.at(2, "finish")
    request = body["rating_request"]
    assert request["ticket"] == number and request["window"] == 2 and request["clerk_name"] == "李四"
    status, body = hall.do("rate", {"ticket": number, "level": 5, "source": "keypad"}, device=hall.counter)
    assert status == 201 and body["rating"]["label"] == "非常满意" and body["rating"]["followup"] is None
    qr = issuing.get_ticket(hall.svc, hall.now, number)["ticket"]["qr"]
    status, body = hall.do("rate", {"ticket": qr, "level": 1, "source": "kiosk"})
    assert status == 409 and body["error"]["code"] == "RATING_EXISTS"
    for bad in ({"level": 6}, {"level": 0}, {"level": "5"}, {"level": True}):
        assert hall.do("rate", {"ticket": number, "source": "keypad", **bad})[1]["error"]["code"] == "LEVEL_INVALID"


def test_bad_rating_opens_a_follow_up_with_a_working_day_deadline(hall: Hall) -> None:
    number = hall.number("B", 1)
    hall.login(2)
    hall.at(2, "call-next")
    hall.at(2, "finish")
    qr = issuing.get_ticket(hall.svc, hall.now, number)["ticket"]["qr"]
    status, body = hall.do("rate", {"ticket": qr, "level": 2, "source": "kiosk", "reasons": ["等待太久"]})
    assert status == 201
    assert body["rating"]["followup"] == {"deadline": "2026-11-30", "status": "opened"}
    followups = supervision.followups(hall.svc)
    assert followups[0]["ticket"] == number and followups[0]["level"] == 2
    hall.now = hall.now.replace(month=12, day=1)
    hall.do("escalate_overdue", device=hall.supervisor)
    assert supervision.followups(hall.svc)[0]["status"] == "overdue"


def test_expected_wait_learns_the_days_service_times(hall: Hall) -> None:
    """Q's catalog figure is 5 minutes; today every Q takes 15. A ticket behind one other is told a blend
    while the day has seen few services, then nearly the day's figure; and one service left open for three
    hours moves it little (robust to an outlier)."""
    hall.login(5)

    def serve(minutes: float, count: int) -> None:
        for _ in range(count):
            hall.at(5, "call-next")
            hall.at(5, "start")
            hall.tick(minutes)
            hall.at(5, "finish")

    def told(i: int) -> int:
        hall.number("Q", 1000 + i)  # one ahead of the ticket asked about, at an idle window
        ticket = issuing.get_ticket(hall.svc, hall.now, hall.number("Q", 2000 + i))["ticket"]
        assert ticket["ahead"] == 1
        return int(ticket["expected_wait_min"])

    for i in range(2):
        hall.number("Q", i)
    serve(15, 2)
    assert 5 < told(0) < 11
    for i in range(10):
        hall.number("Q", 100 + i)
    serve(15, 12)
    assert 11 <= told(1) <= 15
    serve(15, 2)
    hall.number("Q", 300)
    serve(180, 1)  # a service left open over the lunch break
    assert 11 <= told(2) <= 16
