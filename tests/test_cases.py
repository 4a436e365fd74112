"""Cases: an accepted application gets a number the citizen can follow at the kiosk, with their own ID only."""

from __future__ import annotations

from tests.helpers import Hall, person


def accept(hall: Hall, business: str = "B", who: int = 1, **issue: object) -> dict:
    number = hall.number(business, who, **issue)
    hall.login(1)
    assert hall.at(1, "call", number=number, reason="测试")[0] == 200
    status, body = hall.at(1, "finish", accepted=True)
    assert status == 200, body
    return dict(body["case"])


def test_accepted_application_opens_a_case_with_a_statutory_due_date(hall: Hall) -> None:
    case = accept(hall)
    assert case["number"] == "202611230001" and case["stage"] == "accepted" and case["stage_name"] == "已受理"
    assert case["due_date"] == "2026-11-30"  # B: 5 working days from Monday 23 November
    assert case["holder_masked"].startswith("1101") and "*" in case["holder_masked"]
    assert [e["type"] for e in hall.events()].count("case.accepted") == 1


def test_a_finish_without_acceptance_opens_no_case(hall: Hall) -> None:
    number = hall.number("B", 1)
    hall.login(1)
    hall.at(1, "call", number=number, reason="测试")
    status, body = hall.at(1, "finish")
    assert status == 200 and body["case"] is None


def test_only_a_party_can_follow_the_case(hall: Hall) -> None:
    case = accept(hall)
    status, body = hall.do("query_case", {"case_number": case["number"], "identity": person(1)})
    assert status == 200 and body["case"]["stage"] == "accepted"
    stranger = hall.do("query_case", {"case_number": case["number"], "identity": person(2)})
    unknown = hall.do("query_case", {"case_number": "202611239999", "identity": person(1)})
    assert stranger[0] == unknown[0] == 404
    assert stranger[1]["error"]["code"] == unknown[1]["error"]["code"] == "CASE_NOT_FOUND"
    assert stranger[1]["error"]["message"] == unknown[1]["error"]["message"]  # nothing to learn by probing
    bad = hall.do("query_case", {"case_number": "12ab", "identity": person(1)})
    assert bad[0] == 422 and bad[1]["error"]["code"] == "CASE_NUMBER_INVALID"


def test_principals_of_an_agent_ticket_can_follow_it(hall: Hall) -> None:
    case = accept(hall, "B", 900, agent={"identity": person(900), "principals": [person(7)]})
    for who in (900, 7):
        assert hall.do("query_case", {"case_number": case["number"], "identity": person(who)})[0] == 200


def test_progress_moves_forward_only(hall: Hall) -> None:
    number = accept(hall)["number"]

    def progress(stage: str) -> tuple[int, dict]:
        return hall.do("case_progress", {"stage": stage, "note": "审核通过"}, number=number,
                       device=hall.supervisor)

    assert progress("reviewing")[0] == 200
    status, body = progress("registered")
    assert status == 200 and [h["stage"] for h in body["case"]["history"]] == ["accepted", "reviewing", "registered"]
    assert progress("reviewing")[1]["error"]["code"] == "STAGE_BACKWARDS"
    assert progress("printed")[1]["error"]["code"] == "STAGE_UNKNOWN"
    status, body = hall.do("query_case", {"case_number": number, "identity": person(1)})
    assert body["case"]["stage_name"] == "已登簿"
