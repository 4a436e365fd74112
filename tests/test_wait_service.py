"""What the hall tells about a wait, through the service and its SQLite store: one figure for one moment on
every path (slip, ticket read, verify, phone page, queue screen, counter), a range on each, the lunch break,
and the booking offer decided on the same estimate."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from kiosk.domain import codes
from kiosk.hall import issuing, supervision
from tests.helpers import TZ, Hall, example_config


def told(view: dict[str, object]) -> tuple[object, object]:
    return view["expected_wait_min"], view["expected_wait_range_min"]


def test_one_figure_for_one_moment_on_every_path(hall: Hall) -> None:
    """A citizen never sees two different figures for one moment: the queue screen before the ticket, the slip,
    the ticket read, a scanned slip, the phone page and the counter's list all say the same."""
    hall.login(1)
    hall.login(2, clerk="8")
    for i in range(6):
        hall.number("BCBCAB"[i], i)
    hall.at(1, "call-next")
    hall.tick(4)
    screen = next(b for b in supervision.queue_status(hall.svc, hall.now)["businesses"] if b["code"] == "C")
    status, body = hall.issue("C", 50)
    assert status == 201
    slip = body["ticket"]
    assert told(slip) == told(screen)
    low, high = slip["expected_wait_range_min"]
    assert 0 <= low <= slip["expected_wait_min"] <= high and high > low
    assert told(issuing.get_ticket(hall.svc, hall.now, slip["number"])["ticket"]) == told(slip)
    assert told(issuing.verify_qr(hall.svc, hall.now, slip["qr"])["ticket"]) == told(slip)
    assert told(issuing.phone_status(hall.svc, hall.now, codes.code_of(slip["qr"]))) == told(slip)
    counter = next(b for b in supervision.window_summary(hall.svc, hall.now, 2)["waiting"] if b["code"] == "C")
    after = next(b for b in supervision.queue_status(hall.svc, hall.now)["businesses"] if b["code"] == "C")
    assert told(counter) == told(after)  # the counter's list is the queue screen's, for the next ticket
    # once called, nothing is left to wait
    hall.tick(60)
    for w in (1, 2):
        hall.at(w, "finish")
    while hall.state(slip["number"]) in ("waiting", "transferred"):
        hall.at(2, "call-next")
        if hall.state(slip["number"]) == "called":
            break
        hall.at(2, "finish")
    view = issuing.get_ticket(hall.svc, hall.now, slip["number"])["ticket"]
    assert view["state"] == "called" and told(view) == (0, [0, 0])


def test_a_ticket_taken_just_before_the_lunch_break_is_told_after_it(hall: Hall) -> None:
    """Three ahead and a busy window at 11:50: nobody is called between 12:00 and 13:30, so the wait runs into
    the afternoon. (The per-business formula said 15 minutes.)"""
    hall.now = datetime(2026, 11, 23, 11, 40, tzinfo=TZ)
    hall.login(5)
    for i in range(4):
        hall.number("Q", i)
    hall.tick(8)
    hall.at(5, "call-next")
    hall.tick(2)
    ticket = hall.issue("Q", 10)[1]["ticket"]
    assert ticket["ahead"] == 3
    assert 95 <= ticket["expected_wait_min"] <= 115
    assert ticket["expected_wait_range_min"][1] >= ticket["expected_wait_min"]


def test_the_booking_offer_counts_appointments_that_will_check_in_before_closing(tmp_path: Path) -> None:
    """At 16:30 six people wait for window 5 (half an hour of work, an hour left): a walk-in gets a ticket.
    With eight appointments booked for 17:00 still to check in, who will be served first, the same walk-in's
    wait passes closing and the hall offers a booking instead (never a refusal)."""
    def hall_at_half_past_four(path: Path, appointments: int) -> Hall:
        path.mkdir()
        hall = Hall(path, example_config(limits={"kiosk_burst": None}),
                    now=datetime(2026, 11, 23, 16, 30, tzinfo=TZ))
        hall.login(5)
        for i in range(6):
            hall.number("Q", i)
        slot = datetime(2026, 11, 23, 17, 0, tzinfo=TZ)
        for _ in range(appointments):
            status, _ = hall.do("create_appointment", {
                "business": "Q", "slot_start": slot.isoformat(), "slot_end": (slot + timedelta(minutes=30)).isoformat()},
                device=hall.supervisor)
            assert status == 201
        return hall

    quiet = hall_at_half_past_four(tmp_path / "quiet", 0)
    status, body = quiet.issue("Q", 100)
    assert status == 201 and body["ticket"]["expected_wait_min"] < 60
    booked = hall_at_half_past_four(tmp_path / "booked", 8)
    status, body = booked.issue("Q", 100)
    assert status == 200 and body["over_capacity"] is True
    status, body = booked.issue("Q", 100, accept_wait=True)  # the citizen may still wait: told the truth
    assert status == 201 and booked.now + timedelta(minutes=body["ticket"]["expected_wait_min"]) > datetime(
        2026, 11, 23, 17, 30, tzinfo=TZ)
    quiet.close()
    booked.close()


def test_a_ticket_transferred_to_a_window_waits_only_for_that_window(hall: Hall) -> None:
    """Transferred to window 3 (keeping its place): it is window 3's next, whatever queue of D waits there."""
    hall.login(2)
    hall.login(3, clerk="8")
    for i in range(6):  # older than the B ticket: without the transfer they would all go first
        hall.number("D", 10 + i)
    mine = hall.number("B", 1)
    hall.at(3, "call-next")  # window 3 busy with a D
    assert hall.at(2, "call-next")[1]["ticket"]["number"] == mine
    status, body = hall.at(2, "transfer", to_window=3, to_business="D", reason="抵押一并办理")
    assert status == 200 and body["ticket"]["state"] == "transferred"
    view = issuing.get_ticket(hall.svc, hall.now, mine)["ticket"]
    assert view["ahead"] == 0 and view["expected_wait_min"] <= 18  # what is left of window 3's current D
    hall.tick(5)
    hall.at(3, "finish")
    assert hall.at(3, "call-next")[1]["ticket"]["number"] == mine


def test_once_the_windows_of_a_business_have_gone_home_no_one_is_told_a_wait_today(hall: Hall) -> None:
    """Window 5 alone serves Q. At 15:00 its clerk serves one citizen and logs out for the day with two still
    waiting: their phones, the ticket read and the queue screen stop telling them minutes (which counted on a
    window that will call nobody else) and say it may not be today; a new Q ticket is offered a booking, and one
    taken anyway says so too. A clerk who comes back to finish the queue makes it today again."""
    hall.now = datetime(2026, 11, 23, 15, 0, tzinfo=TZ)
    hall.login(5)
    numbers = [hall.issue("Q", i)[1]["ticket"] for i in (1, 2, 3)]
    second = numbers[1]

    def phone() -> dict[str, object]:
        return issuing.phone_status(hall.svc, hall.now, codes.code_of(str(second["qr"])))

    def screen() -> dict[str, object]:
        return next(b for b in supervision.queue_status(hall.svc, hall.now)["businesses"] if b["code"] == "Q")

    assert phone()["expected_today"] is True and screen()["expected_today"] is True
    assert second["expected_today"] is True
    hall.at(5, "call-next")
    hall.tick(5)
    hall.at(5, "finish")
    assert hall.at(5, "logout")[0] == 200
    hall.tick(1)
    assert phone()["state"] == "waiting" and phone()["expected_today"] is False
    assert issuing.get_ticket(hall.svc, hall.now, str(second["number"]))["ticket"]["expected_today"] is False
    assert screen()["expected_today"] is False
    status, body = hall.issue("Q", 4)
    assert status == 200 and body["over_capacity"] is True, body  # a booking, not a made-up figure
    assert "窗口今天已下班" in body["message"] and "done for today" in body["message_en"]  # and why
    assert body["expected_today"] is False
    status, body = hall.issue("Q", 4, accept_wait=True)
    assert status == 201 and body["ticket"]["expected_today"] is False
    # after closing, the clerk comes back to finish the queue: today again, with a wait
    hall.now = datetime(2026, 11, 23, 17, 40, tzinfo=TZ)
    assert phone()["expected_today"] is False
    hall.login(5)
    again = phone()
    assert again["expected_today"] is True and again["ahead"] == 0 and again["expected_wait_range_min"][1] <= 10  # type: ignore[index]


def test_a_hall_slower_than_its_catalog_tells_the_first_citizens_of_the_morning_so(tmp_path: Path) -> None:
    """Last Friday window 3 took 25 minutes over every D ticket (the catalog says 15). On Monday at opening,
    before anyone is served, a D ticket with three ahead is told what Friday taught, not what the catalog
    says; a hall with no earlier days still starts from the catalog."""
    def monday_ticket(hall: Hall) -> tuple[object, object]:
        hall.now = datetime(2026, 11, 23, 9, 1, tzinfo=TZ)
        hall.login(3)
        for i in range(3):
            hall.number("D", 10 + i)
        return told(hall.issue("D", 20)[1]["ticket"])

    (tmp_path / "fresh").mkdir()
    (tmp_path / "slow").mkdir()
    fresh = Hall(tmp_path / "fresh")
    slow = Hall(tmp_path / "slow", now=datetime(2026, 11, 20, 9, 0, tzinfo=TZ))
    try:
        slow.login(3)
        for i in range(8):
            slow.number("D", 30 + i)
        for _ in range(8):
            slow.at(3, "call-next")
            slow.tick(25)
            assert slow.at(3, "finish")[0] == 200
        catalog, learned = monday_ticket(fresh), monday_ticket(slow)
    finally:
        fresh.close()
        slow.close()
    assert isinstance(catalog[0], int) and isinstance(learned[0], int)
    assert 45 <= catalog[0] <= 55   # three at about 16.8 minutes (15, leaning right)
    assert 68 <= learned[0] <= 78   # three at about 24: Friday's 25, shrunk a little towards the catalog
    assert learned[1][1] > catalog[1][1]  # the range moves with it
