
"""Unresolved matters ("办不成事"): reported, tracked through every step, escalated when overdue."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from kiosk.hall import feedback
from tests.helpers import TZ, Hall


def report(hall: Hall, **body: object) -> tuple[int, dict]:
    base = {"category": "materials", "description": "窗口让我第三次补材料"}
    return hall.do("report_matter", {**base, **body})


def test_report_gets_a_number_deadline_and_masked_contact(hall: Hall) -> None:
    status, body = report(hall, contact="13812345678", ticket="b003")
    assert status == 201
    matter = body["matter"]
    assert matter["number"] == "M20261123-001" and matter["status"] == "opened"
    assert matter["deadline"] == "2026-11-30" and matter["ticket"] == "B003"
    assert matter["contact_masked"] == "138****5678"
    assert report(hall)[1]["matter"]["number"] == "M20261123-002"
    opened = [e for e in hall.events() if e["type"] == "matter.opened"]
    assert len(opened) == 2 and "13812345678" not in str(opened)


def test_report_validation(hall: Hall) -> None:
    assert report(hall, category="nope")[1]["error"]["code"] == "CATEGORY_UNKNOWN"
    assert report(hall, description="   ")[1]["error"]["code"] == "DESCRIPTION_REQUIRED"
    assert report(hall, description="x" * 1001)[1]["error"]["code"] == "DESCRIPTION_REQUIRED"
    assert report(hall, contact="call me")[1]["error"]["code"] == "CONTACT_INVALID"
    assert report(hall, category="其他问题")[0] == 201  # the Chinese name works too


def test_lifecycle_in_order_only(hall: Hall) -> None:
    number = report(hall)[1]["matter"]["number"]

    def move(to: str, note: str = "") -> tuple[int, dict]:
        return hall.do("transition_matter", {"to": to, "note": note}, number=number, device=hall.supervisor)

    status, body = move("resolved")
    assert status == 409 and body["error"]["code"] == "TRANSITION_INVALID" and body["error"]["allowed"] == "claimed"
    for step, note in (("claimed", "值班长领办"), ("resolved", "已协调窗口一次性受理"), ("called_back", "电话回访，满意"),
                       ("closed", "销号")):
        status, body = move(step, note)
        assert status == 200 and body["matter"]["status"] == step
    history = body["matter"]["history"]
    assert [h["status"] for h in history] == ["opened", "claimed", "resolved", "called_back", "closed"]
    assert body["matter"]["owner"] == "duty-desk"
    assert move("closed")[1]["error"]["code"] == "TRANSITION_INVALID"


def test_overdue_matters_are_escalated_once(hall: Hall) -> None:
    number = report(hall)[1]["matter"]["number"]
    hall.now = datetime(2026, 11, 30, 16, 0, tzinfo=TZ)  # the deadline day itself: not yet overdue
    assert hall.do("escalate_overdue", device=hall.supervisor)[1]["escalated"] == []
    hall.now = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
    assert hall.do("escalate_overdue", device=hall.supervisor)[1]["escalated"] == [number]
    assert hall.do("escalate_overdue", device=hall.supervisor)[1]["escalated"] == []
    view = feedback.get_matter(hall.svc, hall.now, number)["matter"]
    assert view["overdue"] is True and view["escalated"] is True
    assert len([e for e in hall.events() if e["type"] == "matter.escalated"]) == 1


def test_notes_are_added_without_moving_the_matter_on(hall: Hall) -> None:
    number = report(hall)[1]["matter"]["number"]
    status, body = hall.do("transition_matter", {"to": "note", "note": "已联系窗口负责人"}, number=number,
                           device=hall.supervisor)
    assert status == 200 and body["matter"]["status"] == "opened"
    assert body["matter"]["history"][-1]["note"] == "已联系窗口负责人"
    assert hall.do("transition_matter", {"to": "note", "note": " "}, number=number,
                   device=hall.supervisor)[1]["error"]["code"] == "REASON_REQUIRED"


def test_numbers_go_on_after_an_upgrade_in_the_middle_of_a_day(tmp_path: Path) -> None:
    """Cases, notices and matters are numbered from the counters table now; a hall that already gave
    M20261123-001 this morning under the old numbering gives -002 next, never -001 again."""
    import sqlite3

    from kiosk.store.schema import MIGRATIONS

    conn = sqlite3.connect(tmp_path / "hall.db")
    for script in MIGRATIONS[:5]:
        conn.executescript(script)
    conn.execute("INSERT INTO matters (number, day, category, description, status, opened_at, deadline) VALUES "
                 "('M20261123-001', '2026-11-23', 'waiting', '等太久', 'opened', '2026-11-23T09:00:00+08:00', "
                 "'2026-11-30')")
    conn.execute("PRAGMA user_version=5")
    conn.commit()
    conn.close()
    hall = Hall(tmp_path)
    status, body = hall.do("report_matter", {"category": "waiting", "description": "还是等太久"})
    assert status == 201 and body["matter"]["number"] == "M20261123-002"
    hall.close()


def test_a_report_moves_one_step_at_a_time() -> None:
    """The lifecycle is a domain rule (kiosk/domain/matters.py), the same for every front end."""
    import pytest

    from kiosk.domain import matters
    from kiosk.domain.errors import DomainError

    state = "opened"
    for step in ("claimed", "resolved", "called_back", "closed"):
        state = matters.check_transition(state, step)
    assert state == "closed"
    for current, to in (("opened", "resolved"), ("claimed", "opened"), ("closed", "opened"), ("opened", None)):
        with pytest.raises(DomainError) as err:
            matters.check_transition(current, to)
        assert err.value.code == "TRANSITION_INVALID" and err.value.status == 409
        assert err.value.details["allowed"] == matters.FLOW.get(current)
    assert matters.callback_sampled(bytes([0, 4]), 5) and not matters.callback_sampled(bytes([0, 5]), 5)
    assert not matters.callback_sampled(bytes([0, 0]), 0)
