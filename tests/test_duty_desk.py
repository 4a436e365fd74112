
"""What the duty desk and the window terminal read and decide: a window at a glance, a surge met with a
temporary window or longer hours (recorded), bad-rating follow-ups closed, the open matters."""

from __future__ import annotations

from datetime import datetime, timedelta

from kiosk.contract.requests import GetTicket
from kiosk.hall import supervision
from kiosk.hall.context import Call
from tests.helpers import TZ, Hall, person


def test_a_window_at_a_glance(hall: Hall) -> None:
    first = hall.number("B", 1)
    hall.number("C", 2)
    hall.number("D", 3)  # window 3's business: not shown at window 2
    hall.login(2)
    hall.at(2, "call-next")
    hall.tick(5)
    summary = supervision.window_summary(hall.svc, hall.now, 2)
    assert summary["window"]["state"] == "open" and summary["window"]["clerk_name"] == "李四"
    assert summary["current"]["number"] == first and summary["current"]["earlier_notice"] is None
    assert [t["number"] for t in summary["waiting_tickets"]] == ["C001"]
    assert {b["code"] for b in summary["waiting"]} == {"B", "C"}
    hall.at(2, "notice", missing=["contract"])
    hall.at(2, "finish")
    hall.do("rate", {"ticket": first, "level": 4, "source": "keypad"}, device=hall.counter)
    today = supervision.window_summary(hall.svc, hall.now, 2)["today"]
    assert today == {"served": 1, "ratings": {"4": 1}, "rated": 1, "average": 4.0, "overturned": 0}
    # the same person back the next day for the same business: the clerk is warned before a second notice
    hall.now = datetime(2026, 11, 24, 10, 0, tzinfo=TZ)
    second = hall.number("B", 1)
    hall.login(2)
    hall.at(2, "call", number=second, reason="测试")
    assert supervision.window_summary(hall.svc, hall.now, 2)["current"]["earlier_notice"] == "N20261123-001"


def test_a_temporary_window_calls_the_surge_business(hall: Hall) -> None:
    number = hall.number("K", 1)
    hall.login(2)
    assert hall.at(2, "call-next")[1]["error"]["code"] == "QUEUE_EMPTY"  # window 2 does not serve K
    status, body = hall.do("open_temporary", {"businesses": ["K"], "reason": "查封登记积压"}, window=2,
                           device=hall.supervisor)
    assert status == 200 and body["decision"]["serves"] == ["B", "C", "K"]
    assert hall.at(2, "call-next")[1]["ticket"]["number"] == number
    assert any(a["kind"] == "temporary_window" and a["reason"] == "查封登记积压" for a in supervision.audit(hall.svc, None, None))
    assert hall.do("open_temporary", {"businesses": ["K"], "reason": ""}, window=2,
                   device=hall.supervisor)[1]["error"]["code"] == "REASON_REQUIRED"


def test_extended_hours_keep_issuing_after_closing(hall: Hall) -> None:
    hall.now = datetime(2026, 11, 23, 17, 40, tzinfo=TZ)  # after 17:30
    assert hall.issue("B", 1)[1]["error"]["code"] == "HALL_CLOSED"
    assert hall.do("extend_hours", {"until": "17:00", "reason": "x"},
                   device=hall.supervisor)[1]["error"]["code"] == "UNTIL_INVALID"
    status, body = hall.do("extend_hours", {"until": "18:30", "reason": "下午排队积压"}, device=hall.supervisor)
    assert status == 200 and body["decision"]["until"].startswith("2026-11-23T18:30")
    assert hall.issue("B", 1)[0] == 201
    hall.now = datetime(2026, 11, 23, 18, 31, tzinfo=TZ)
    assert hall.issue("B", 2)[1]["error"]["code"] == "HALL_CLOSED"
    assert [e["type"] for e in hall.events()].count("hall.hours_extended") == 1


def test_a_bad_rating_follow_up_is_closed_with_what_was_done(hall: Hall) -> None:
    number = hall.number("B", 1)
    hall.login(2)
    hall.at(2, "call-next")
    hall.at(2, "finish")
    hall.do("rate", {"ticket": number, "level": 1, "source": "keypad"}, device=hall.counter)
    [followup] = supervision.followups(hall.svc)
    assert followup["status"] == "opened" and followup["deadline"] == "2026-11-30"
    status, body = hall.do("close_followup", {"note": "已核实，窗口整改并电话回访"}, number=str(followup["id"]),
                           device=hall.supervisor)
    assert status == 200 and body["followup"]["late"] is False
    assert supervision.followups(hall.svc)[0]["status"] == "closed"
    assert hall.do("close_followup", {"note": "again"}, number=str(followup["id"]),
                   device=hall.supervisor)[1]["error"]["code"] == "FOLLOWUP_CLOSED"


def test_open_matters_overdue_first(hall: Hall) -> None:
    for description in ("第一件", "第二件"):
        hall.do("report_matter", {"category": "waiting", "description": description})
    hall.now = datetime(2026, 12, 2, 10, 0, tzinfo=TZ)
    hall.do("report_matter", {"category": "fees", "description": "第三件", "contact": "13812345678"})
    listed = supervision.matters(hall.svc, hall.now, True)
    assert [m["description"] for m in listed] == ["第一件", "第二件", "第三件"]
    assert listed[0]["overdue"] and not listed[2]["overdue"]
    assert "13812345678" not in str(listed) and person(1)["id_number"] not in str(listed)


def test_a_window_leaving_early_by_the_roster_is_told_to_every_wait_from_now_on(hall: Hall) -> None:
    """Window 2 (B, C) will go home at 11:00: a C ticket issued now is told the wait window 1 alone can keep
    after 11:00, the decision is recorded with its reason and reaches the ledger as an exception; a time in
    the past or after closing is refused in words, and a later decision replaces it."""
    hall.login(1)
    hall.login(2)
    for who in range(1, 13):
        assert hall.issue("C", who)[0] == 201
    before = hall.issue("C", 100)[1]["ticket"]["expected_wait_min"]
    refused = hall.do("window_leaves", {"at": "09:30", "reason": "培训"}, window=2, device=hall.supervisor)
    assert refused[0] == 422 and refused[1]["error"]["code"] == "UNTIL_INVALID" and "晚于现在" in refused[1]["error"]["message"]
    assert hall.do("window_leaves", {"at": "19:00", "reason": "培训"}, window=2,
                   device=hall.supervisor)[1]["error"]["code"] == "UNTIL_INVALID"
    assert hall.do("window_leaves", {"at": "11:00", "reason": ""}, window=2,
                   device=hall.supervisor)[1]["error"]["code"] == "REASON_REQUIRED"
    status, body = hall.do("window_leaves", {"at": "11:00", "reason": "2号窗口人员参加培训"}, window=2,
                           device=hall.supervisor)
    assert status == 200 and body["decision"]["until"].startswith("2026-11-23T11:00")
    assert body["decision"]["stranded"] == []  # window 1 still serves B and C
    ticket = hall.issue("C", 101)[1]["ticket"]
    after = ticket["expected_wait_min"]
    assert after >= before + 15, (before, after)  # one window fewer after 11:00 for the C queue
    assert any(a["kind"] == "window_leaves" and a["reason"] == "2号窗口人员参加培训"
               for a in supervision.audit(hall.svc, None, None))
    assert [e["type"] for e in hall.events()].count("window.leaves_early") == 1
    # the roster changed again: window 2 stays all day; the next ticket is told as before the decision
    assert hall.do("window_leaves", {"at": "17:30", "reason": "培训取消"}, window=2, device=hall.supervisor)[0] == 200
    again = hall.run(Call(hall.kiosk, hall.now), GetTicket(number=ticket["number"]))[1]["ticket"]
    assert again["expected_wait_min"] <= before + 8, (before, after, again)
    # a staggered lunch: away 10:30-11:30 and back; then moved (the same start, cancelled by back = away)
    assert hall.do("window_leaves", {"at": "10:30", "back": "10:00", "reason": "午休"}, window=2,
                   device=hall.supervisor)[1]["error"]["code"] == "UNTIL_INVALID"
    status, body = hall.do("window_leaves", {"at": "10:30", "back": "11:30", "reason": "错峰午休"}, window=2,
                           device=hall.supervisor)
    assert status == 200 and body["decision"]["back"].startswith("2026-11-23T11:30")
    lunch = hall.run(Call(hall.kiosk, hall.now), GetTicket(number=ticket["number"]))[1]["ticket"]
    assert lunch["expected_wait_min"] >= again["expected_wait_min"] + 15, (again, lunch)
    hall.do("window_leaves", {"at": "10:30", "back": "10:30", "reason": "午休改期"}, window=2, device=hall.supervisor)
    moved = hall.run(Call(hall.kiosk, hall.now), GetTicket(number=ticket["number"]))[1]["ticket"]
    assert moved["expected_wait_min"] == again["expected_wait_min"]
    told = [d for d in supervision.decisions(hall.svc, hall.svc.store.reader(), "2026-11-23")
            if d["kind"] == "window_leaves"]
    assert [(d["until"][11:16], (d["back"] or "")[11:16]) for d in told] == [
        ("11:00", ""), ("17:30", ""), ("10:30", "11:30"), ("10:30", "10:30")]


def test_the_duty_desk_is_told_which_businesses_a_window_leaving_strands(hall: Hall) -> None:
    """Window 4 alone serves G, H, J and K: sending it home at 15:00 leaves them without a window, and the duty
    desk is told with who still counts on them (waiting now, appointments due after 15:00), while a temporary
    window or longer hours can still help."""
    hall.login(4)
    for who in range(1, 4):
        assert hall.issue("G", who)[0] == 201
    slot = datetime(2026, 11, 23, 16, 0, tzinfo=TZ)
    assert hall.do("create_appointment", {"business": "K", "slot_start": slot.isoformat(),
                                          "slot_end": (slot + timedelta(minutes=30)).isoformat()},
                   device=hall.supervisor)[0] == 201
    status, body = hall.do("window_leaves", {"at": "15:00", "reason": "4号窗口人员外出"}, window=4,
                           device=hall.supervisor)
    stranded = {s["business"]: (s["waiting"], s["appointments"]) for s in body["decision"]["stranded"]}
    assert status == 200 and stranded == {"G": (3, 0), "H": (0, 0), "J": (0, 0), "K": (0, 1)}
    # a temporary window for G: G is no longer stranded when the next decision is taken
    hall.do("open_temporary", {"businesses": ["G"], "reason": "4号窗口下午外出"}, window=3, device=hall.supervisor)
    again = hall.do("window_leaves", {"at": "15:30", "reason": "改为15:30"}, window=4, device=hall.supervisor)[1]
    assert {s["business"] for s in again["decision"]["stranded"]} == {"H", "J", "K"}
