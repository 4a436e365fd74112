"""The wait estimate (kiosk/domain/waits.py): tables of hall situations with the waits they must give, and
properties that hold for any queue. Written from the hall's rules (windows, breaks, shared businesses,
priority), not from the estimator's code."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from kiosk.domain import durations, labels, waits
from kiosk.domain.ahead import Ahead, ahead_by_business
from kiosk.domain.waits import HallFacts, Window

TZ = ZoneInfo("Asia/Shanghai")


def at(h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, 23, h, m, tzinfo=TZ)


PERIODS = ((at(9), at(12)), (at(13, 30), at(17, 30)))
# a hall that has seen enough services that its figures are the catalog's, with nobody failing to come
EXACT = {code: durations.Durations(minutes, minutes * 0.4, no_show_rate=0.0)
         for code, minutes in {"A": 20.0, "B": 25.0, "C": 15.0, "D": 15.0, "Q": 5.0, "X": 15.0}.items()}


def window(number: int, businesses: str, state: str = "open", **kw: object) -> Window:
    return Window(number, tuple(businesses), state, worked_today=kw.pop("worked_today", True), **kw)  # type: ignore[arg-type]


def wait(now: datetime, windows: list[Window], ahead: dict[str, float], business: str, priority: bool = False,
         **facts: object) -> waits.Estimate:
    return waits.estimate(HallFacts(now, PERIODS, tuple(windows), EXACT, **facts),  # type: ignore[arg-type]
                          Ahead(business, priority, ahead))


HALL = [window(1, "ABC"), window(2, "BC"), window(5, "QX")]


@pytest.mark.parametrize(("name", "now", "windows", "ahead", "business", "low", "high"), [
    ("an idle window, nobody ahead: called at once", at(10), HALL, {}, "Q", 0, 0),
    ("four ahead at one window of 5-minute services", at(10), HALL, {"Q": 4}, "Q", 19, 21),
    ("the window is busy: nobody ahead still waits for its ticket to end", at(10),
     [window(5, "QX", current="X", current_since=at(9, 55))], {}, "Q", 9, 11),
    ("work that runs past noon waits out the lunch break", at(11, 30), HALL, {"X": 4}, "Q", 146, 151),
    ("taken during the break: counted from the afternoon", at(12, 30),
     [window(5, "QX", "closed", since=at(12, 5))], {"Q": 3}, "Q", 74, 76),
    ("before opening: from opening", at(8, 50), [window(5, "QX", "closed", worked_today=False)], {"Q": 2}, "Q",
     19, 21),
    # window 1 serves A, B and C; window 2 serves B and C: the C queue is shared by both
    ("A behind 8 C: half of C's two hours fall on window 1", at(10), HALL, {"C": 8}, "A", 52, 60),
    ("the same with window 2 gone for the day", at(15), [window(1, "ABC"), window(2, "BC", "closed", since=at(14, 30)),
                                                         window(5, "QX")], {"C": 8}, "A", 112, 120),
    ("A behind 10 A and 1 B: window 2 cannot help with A", at(10), HALL, {"A": 10, "B": 1}, "A", 270, 285),
    ("B behind 10 A and 1 B: window 2 calls it soon", at(10), HALL, {"A": 10, "B": 1}, "B", 10, 30),
    ("a paused window comes back after its pause", at(10), [window(5, "QX", "paused", since=at(9, 50))], {"Q": 2},
     "Q", 29, 31),
    ("after closing the open windows finish the queue", at(17, 20), HALL, {"X": 4}, "X", 56, 61),
])
def test_waits_in_hall_situations(name: str, now: datetime, windows: list[Window], ahead: dict[str, float],
                                  business: str, low: int, high: int) -> None:
    est = wait(now, windows, ahead, business)
    assert low <= est.minutes <= high, (name, est)
    assert est.low <= est.minutes <= est.high, (name, est)
    assert est.call_at == now + timedelta(minutes=est.minutes) or abs(
        (est.call_at - now).total_seconds() / 60 - est.minutes) < 1


def test_later_priority_tickets_and_appointments_pass_a_normal_ticket_only() -> None:
    plain = wait(at(10), HALL, {"Q": 10}, "Q")
    crowd = wait(at(10), HALL, {"Q": 10}, "Q", priority_per_minute={"Q": 0.1})
    booked = wait(at(10), HALL, {"Q": 10}, "Q", appointments=(("Q", at(10, 30)), ("Q", at(10, 40))))
    assert crowd.minutes > plain.minutes + 5
    assert booked.minutes >= plain.minutes + 8  # two appointments that check in before it is called
    later = wait(at(10), HALL, {"Q": 10}, "Q", appointments=(("Q", at(16)),))
    assert later.minutes == plain.minutes  # an appointment after it is called does not pass it
    assert wait(at(10), HALL, {"Q": 10}, "Q", True, priority_per_minute={"Q": 0.1}).minutes == plain.minutes


def test_a_window_closed_in_the_afternoon_does_not_serve_and_one_at_lunch_comes_back() -> None:
    gone = [window(5, "QX", "closed", since=at(14, 30)), window(6, "Q")]
    back = [window(5, "QX", "closed", since=at(12, 5)), window(6, "Q", "closed", since=at(12, 2))]
    assert wait(at(15), gone, {"Q": 6}, "Q").minutes >= 29  # window 6 alone
    assert wait(at(12, 30), back, {"Q": 6}, "Q").minutes <= 90 + 17  # both after the break


def test_a_window_the_roster_sends_home_early_serves_only_until_then() -> None:
    """At 13:45 window 2 (B, C) is known to leave at 14:30: the C queue it shares with window 1 is done by
    window 1 alone after that, and told so now, not when the window has gone."""
    staying = [window(1, "ABC"), window(2, "BC"), window(5, "QX")]
    leaving = [window(1, "ABC"), window(2, "BC", leaves_at=at(14, 30)), window(5, "QX")]
    both, alone = wait(at(13, 45), staying, {"C": 12}, "C"), wait(at(13, 45), leaving, {"C": 12}, "C")
    # 12 C of 15 minutes: 90 minutes at two windows; with window 2 gone at 14:30, 45 minutes of work are done
    # by 14:30 and the other 90 by window 1 alone
    assert 80 <= both.minutes <= 95 and 120 <= alone.minutes <= 140 and alone.minutes - both.minutes >= 35
    # a ticket called before it leaves is not moved
    assert wait(at(13, 45), leaving, {"C": 2}, "C").minutes == wait(at(13, 45), staying, {"C": 2}, "C").minutes
    # gone already and not back: as a window closed for the day; still open after its time: it stayed on
    assert wait(at(15), [window(1, "ABC"), window(2, "BC", "closed", since=at(14, 30), leaves_at=at(14, 30)),
                         window(5, "QX")], {"C": 12}, "C").minutes >= 175
    stayed = [window(1, "ABC"), window(2, "BC", leaves_at=at(14, 30)), window(5, "QX")]
    assert wait(at(15), stayed, {"C": 12}, "C").minutes == wait(at(15), staying, {"C": 12}, "C").minutes


def test_a_business_whose_only_window_leaves_early_is_told_not_before_closing() -> None:
    """Window 5 alone serves Q and X and leaves at 16:00: a ticket it reaches before then is told so; one it
    cannot reach is told a wait past closing (which is what makes the hall offer a booking), never a made-up
    figure inside the day."""
    leaving = [window(1, "ABC"), window(5, "QX", leaves_at=at(16))]
    soon = wait(at(15), leaving, {"Q": 4}, "Q")
    assert 19 <= soon.minutes <= 21 and soon.high_at <= at(17, 30)
    late = wait(at(15), leaving, {"Q": 20}, "Q")  # 100 minutes of work, 60 before it leaves
    assert late.call_at > at(17, 30) and late.high_at > at(17, 30), late
    edge = wait(at(15), leaving, {"Q": 11}, "Q")  # 55 minutes: reached before 16:00, but it may not be
    assert edge.call_at < at(16) and edge.high_at > at(17, 30), edge


@pytest.mark.parametrize(("name", "now", "windows", "ahead", "today"), [
    ("its only window worked and went home before closing", at(16, 10),
     [window(5, "QX", "closed", since=at(16))], {"Q": 2}, False),
    ("after closing, its window gone", at(17, 45), [window(5, "QX", "closed", since=at(17, 31))], {"Q": 3}, False),
    ("after closing, its window still open to finish the queue", at(17, 45), [window(5, "QX")], {"Q": 3}, True),
    ("after closing, nobody came to its window all day", at(17, 45),
     [window(1, "ABC"), window(5, "QX", "closed", worked_today=False)], {"Q": 1}, False),
    ("before opening, nobody has logged in yet", at(8, 50), [window(5, "QX", "closed", worked_today=False)],
     {"Q": 2}, True),
    # a clerk late is likelier than one absent all day (which the duty desk's roster says: see the roster rows)
    ("the hall works, its only window has not come yet", at(10, 30),
     [window(1, "ABC"), window(5, "QX", "closed", worked_today=False)], {"Q": 1}, True),
    ("at lunch, back in the afternoon", at(12, 30), [window(5, "QX", "closed", since=at(12, 5))], {"Q": 3}, True),
    ("the roster sends its window home before it can reach the ticket", at(15),
     [window(1, "ABC"), window(5, "QX", leaves_at=at(16))], {"Q": 20}, False),
    ("the roster's window may reach it before going home", at(15),
     [window(1, "ABC"), window(5, "QX", leaves_at=at(16))], {"Q": 11}, True),
    ("no window serves the business", at(10), [window(1, "ABC")], {}, False),
])
def test_whether_a_ticket_can_be_called_today(name: str, now: datetime, windows: list[Window],
                                              ahead: dict[str, float], today: bool) -> None:
    """Once no window that serves a ticket is expected to work again today, no figure inside the day is true:
    the estimate says so (the screens then say "may not be today", and a new ticket is offered a booking).
    Windows at lunch, not logged in yet before opening, or still open after closing do call it today."""
    est = wait(now, windows, ahead, "Q")
    assert est.today is today, (name, est)


def test_a_window_past_its_time_with_the_citizen_it_called_before_finishes_and_goes() -> None:
    """Window 5 alone serves Q and X, and leaves at 15:00 by the roster. At 15:23 its clerk is still with an X
    called at 14:50: finishing that one, then going home, as clerks do. A Q ticket taken now is told not before
    closing (so the kiosk offers a booking), not "3 minutes" for a window that will call nobody else today. Had
    the window called someone after 15:00, it stayed on to finish the queue, and the ticket is called soon."""
    finishing = window(5, "QX", current="X", current_since=at(14, 50), leaves_at=at(15))
    told = wait(at(15, 23), [window(1, "ABC"), finishing], {}, "Q")
    assert told.call_at >= at(17, 30) and told.high_at > at(17, 30), told
    stayed = window(5, "QX", current="X", current_since=at(15, 10), leaves_at=at(15))
    assert wait(at(15, 23), [window(1, "ABC"), stayed], {}, "Q").minutes <= 15
    # the same for a staggered lunch, away 10:30-11:00: with the citizen called before 10:30 it goes, and is back
    # at 11:00; one that called someone at 10:32 stayed
    lunch = ((at(10, 30), at(11)),)
    late = window(5, "QX", current="X", current_since=at(10, 20), away=lunch)
    assert 25 <= wait(at(10, 35), [late], {}, "Q").minutes <= 30
    kept = window(5, "QX", current="X", current_since=at(10, 32), away=lunch)
    assert wait(at(10, 35), [kept], {}, "Q").minutes <= 15


def test_a_paused_window_is_expected_back_when_it_said() -> None:
    """A pause that says how long (a clerk's lunch) is counted from its end; one that does not is assumed to
    last half an hour; one overrunning what it said is expected back at once."""
    lunch = [window(5, "QX", "paused", since=at(10), back_at=at(11))]
    unsaid = [window(5, "QX", "paused", since=at(10))]
    overrun = [window(5, "QX", "paused", since=at(10), back_at=at(10, 20))]
    assert 64 <= wait(at(10, 5), lunch, {"Q": 2}, "Q").minutes <= 66  # 55 minutes away, then two of 5
    assert 34 <= wait(at(10, 5), unsaid, {"Q": 2}, "Q").minutes <= 36
    assert 9 <= wait(at(10, 30), overrun, {"Q": 2}, "Q").minutes <= 11


def test_a_planned_absence_on_the_roster_is_counted_before_it_comes() -> None:
    """Window 5 alone serves Q and is away 10:30-11:00 by the roster (a staggered lunch): at 10:00 ten Q tickets
    of 5 minutes are told 80 minutes, not 50; a window found working when the roster says it is away stayed on;
    one away now is expected back when the roster says, or when its pause says if that is later."""
    away = ((at(10, 30), at(11)),)
    assert 49 <= wait(at(10), [window(5, "QX")], {"Q": 10}, "Q").minutes <= 51
    assert 79 <= wait(at(10), [window(5, "QX", away=away)], {"Q": 10}, "Q").minutes <= 81
    assert 9 <= wait(at(10, 40), [window(5, "QX", away=away)], {"Q": 2}, "Q").minutes <= 11  # it stayed
    paused = window(5, "QX", "paused", since=at(10, 30), away=away)
    assert 29 <= wait(at(10, 40), [paused], {"Q": 2}, "Q").minutes <= 31  # back at 11:00, then two of 5
    late = window(5, "QX", "paused", since=at(10, 30), back_at=at(11, 10), away=away)
    assert 39 <= wait(at(10, 40), [late], {"Q": 2}, "Q").minutes <= 41
    # the absence and leaving early together: away 10:30-11:00, gone at 15:00
    both = window(5, "QX", away=away, leaves_at=at(15))
    assert wait(at(10), [both], {"Q": 10}, "Q").minutes == wait(at(10), [window(5, "QX", away=away)], {"Q": 10},
                                                                  "Q").minutes


def test_the_range_is_wider_for_a_longer_wait() -> None:
    short, long = wait(at(9, 10), HALL, {"Q": 2}, "Q"), wait(at(9, 10), HALL, {"Q": 20}, "Q")
    assert short.high - short.low < long.high - long.low
    assert long.low < long.minutes < long.high


@pytest.mark.parametrize(("served", "no_shows", "mean_between"), [
    ([], [], (11.1, 11.2)),          # nothing seen: the catalog's typical figure, as a mean (service times lean right)
    ([20.0], [], (12.0, 13.5)),       # one service moves it a little
    ([20.0] * 30, [], (18.0, 20.0)),  # thirty: nearly the day's figure
    ([10.0] * 9 + [300.0], [], (10.0, 11.0)),  # one service left open for hours: robust
    ([10.0] * 10, [2.0] * 10, (10.0, 10.5)),   # no-shows do not change what a service takes
])
def test_learning_the_days_durations(served: list[float], no_shows: list[float],
                                     mean_between: tuple[float, float]) -> None:
    d = durations.learn(10.0, served, no_shows)
    assert mean_between[0] <= d.mean <= mean_between[1], d


def test_the_whole_hall_teaches_a_business_it_has_not_seen_yet() -> None:
    """Every service today runs half as long again as the catalog says: a business nobody has been served in
    yet starts from that pace, not from the catalog's figure; no-shows seen anywhere count for all."""
    catalog = {"A": 20.0, "B": 10.0, "Q": 5.0}
    seen = {"B": durations.Seen([15.0] * 12, [3.0] * 4, 12, 4), "Q": durations.Seen([7.5] * 12, [], 12, 0)}
    day = durations.learn_day(catalog, seen)
    assert 26 <= day["A"].mean <= 30  # 20 × about 1.4 (the pace shrunk a little towards the catalog)
    assert day["A"].no_show_rate > durations.NO_SHOW_PRIOR
    assert 13.5 <= day["B"].mean <= 15 and 6.8 <= day["Q"].mean <= 7.5
    assert durations.learn_day(catalog, {})["A"].mean == pytest.approx(20.0 * durations.SKEW)


def test_the_halls_earlier_days_are_where_the_morning_starts() -> None:
    """On earlier days this hall's D services took 25 minutes (the catalog says 15). This morning, before anyone
    is served, a D ticket costs what those days taught; a business they never saw starts from their pace;
    their no-shows count; and today's own services still move every figure, as they always did."""
    catalog = {"D": 15.0, "E": 8.0}
    past = {"D": durations.Seen([25.0] * 60, [2.0] * 10, 400, 40)}
    morning = durations.learn_day(catalog, {}, past)
    assert 24.5 <= morning["D"].mean <= 25.5
    assert 12.0 <= morning["E"].mean <= 13.5  # 8 × SKEW × the earlier days' pace of about 1.45
    assert 0.08 <= morning["D"].no_show_rate <= 0.1 and morning["D"].no_show_minutes < durations.NO_SHOW_MINUTES
    assert durations.learn_day(catalog, {}, {}) == durations.learn_day(catalog, {})  # a new hall: the catalog
    today = durations.learn_day(catalog, {"D": durations.Seen([15.0] * 30, [], 30, 0)}, past)
    assert 15.0 < today["D"].mean < 17.0  # a faster day shows within the morning
    assert today["E"].mean < morning["E"].mean


def test_no_shows_are_counted_at_what_they_cost() -> None:
    none = durations.learn(10.0, [10.0] * 20)
    many = durations.learn(10.0, [10.0] * 20, [2.0] * 20)
    assert many.no_show_rate > 0.3 and many.no_show_minutes == pytest.approx(2.1, abs=0.1)
    assert many.per_ticket < none.per_ticket  # a holder who does not come costs the window only the call


def test_a_window_slower_than_the_others_on_the_same_business_counts_for_less() -> None:
    speeds = durations.window_speeds({("B", 1): (20, 20 * 40.0), ("B", 2): (20, 20 * 20.0), ("Q", 5): (20, 20 * 9.0)})
    assert speeds[1] > 1.3 and speeds[2] < 0.8
    assert 5 not in speeds  # alone with its business: its pace is the business's, learned once
    slow = [window(1, "B", speed=speeds[1])]
    fast = [window(1, "B", speed=speeds[2])]
    assert wait(at(10), slow, {"B": 4}, "B").minutes > wait(at(10), fast, {"B": 4}, "B").minutes


@pytest.mark.parametrize(("n", "words"), [(0, "零"), (7, "七"), (10, "十"), (12, "十二"), (25, "二十五"), (40, "四十"),
                                          (105, "一百零五"), (110, "一百一十"), (2000, "两千"), (1010, "一千零一十")])
def test_numbers_in_words(n: int, words: str) -> None:
    assert labels.number_words(n) == words


def test_the_range_as_read_and_said() -> None:
    assert labels.range_text(25, 40) == "约 25–40 分钟"
    assert labels.range_text_en(25, 40) == "about 25–40 min"
    assert labels.spoken_range(25, 40) == "大约二十五到四十分钟"
    assert labels.range_of({"expected_wait_min": 30, "expected_wait_range_min": [25, 40]}) == (25, 40)
    assert labels.range_of({"expected_wait_min": 30}) == (30, 30)  # an older hall's single figure
    told = {"expected_wait_min": 30, "expected_wait_range_min": [25, 40]}
    assert labels.wait_words(told) == ("约 25–40 分钟", "about 25–40 min")  # an older hall does not say "today"
    assert labels.wait_words(told | {"expected_today": True}) == ("约 25–40 分钟", "about 25–40 min")
    assert labels.wait_words(told | {"expected_today": False}) == ("今天可能叫不到", "may not be called today")


def test_who_is_ahead_by_business() -> None:
    waiting = {"B": (5, 2), "C": (3, 1)}
    before = {"B": (2, 1), "C": (1, 0)}
    normal = ahead_by_business("B", False, before, waiting, 2)
    assert normal.counts == {"B": 2 + 2, "C": 1 + 1}  # older normal ones and every waiting priority one
    assert normal.people == 4  # what the slip says: 前面等候 4 人 (its own business)
    crowded = ahead_by_business("B", False, {"B": (1, 6), "C": (0, 6)}, {"B": (3, 6), "C": (2, 6)}, 2)
    # twelve priority tickets wait, but with one normal ticket before it only four can be called first
    assert sum(crowded.counts.values()) - sum(crowded.normal.values()) == pytest.approx(4)
    prio = ahead_by_business("B", True, before, waiting, 2)
    # older priority ones, and normal ones as the rule lets them through: one for every two priority calls
    # before it, over the businesses it shares windows with (half a call here), where the normal ones wait
    assert prio.counts == pytest.approx({"B": 1 + 0.5 * 5 / 8, "C": 0.5 * 3 / 8})
    many = ahead_by_business("B", True, {"B": (0, 3), "C": (0, 3)}, {"B": (4, 3), "C": (4, 3)}, 2)
    assert sum(many.normal.values()) == pytest.approx(3)  # six priority calls before it: three normal ones


# -- properties -------------------------------------------------------------------------------------------------
states = st.sampled_from(["open", "open", "paused", "closed"])
times = st.integers(8 * 60 + 30, 17 * 60 + 20).map(lambda m: at(m // 60, m % 60))
queues = st.dictionaries(st.sampled_from("ABCQX"), st.integers(0, 40), max_size=5)


@st.composite
def halls(draw: st.DrawFn, now: datetime) -> list[Window]:
    out = []
    for number, businesses in ((1, "ABC"), (2, "BC"), (5, "QX")):
        state = draw(states)
        since = now - timedelta(minutes=draw(st.integers(0, 180)))
        busy = draw(st.sampled_from([None, *businesses])) if state == "open" else None
        out.append(window(number, businesses, state, since=since, current=busy,
                          current_since=since if busy else None, speed=draw(st.sampled_from([0.8, 1.0, 1.3]))))
    return out


def hall_and_time() -> st.SearchStrategy[tuple[list[Window], datetime]]:
    return times.flatmap(lambda now: st.tuples(halls(now), st.just(now)))


@settings(max_examples=300, deadline=None)
@given(hall_and_time(), queues, st.sampled_from("ABCQX"), st.booleans())
def test_more_people_ahead_never_shortens_the_wait(place: tuple[list[Window], datetime], ahead: dict[str, int],
                                                   business: str, priority: bool) -> None:
    hall, now = place
    before = wait(now, hall, {k: float(v) for k, v in ahead.items()}, business, priority)
    more = {**ahead, business: ahead.get(business, 0) + 1}
    after = wait(now, hall, {k: float(v) for k, v in more.items()}, business, priority)
    assert after.minutes >= before.minutes
    for est in (before, after):
        assert 0 <= est.low <= est.minutes <= est.high


@settings(max_examples=300, deadline=None)
@given(hall_and_time(), queues, st.sampled_from("ABCQX"))
def test_another_open_window_never_lengthens_the_wait(place: tuple[list[Window], datetime], ahead: dict[str, int],
                                                      business: str) -> None:
    hall, now = place
    # (with none of its windows staffed the estimate assumes they will be: a new real one may be slower)
    assume(any(w.state != "closed" for w in hall if business in w.businesses))
    counts = {k: float(v) for k, v in ahead.items()}
    extra = [*hall, window(9, business, speed=0.8)]  # a temporary window for this business, as quick as any
    assert wait(now, extra, counts, business).minutes <= wait(now, hall, counts, business).minutes


@settings(max_examples=200, deadline=None)
@given(hall_and_time(), queues, st.sampled_from("ABCQX"), st.floats(0, 0.2))
def test_a_priority_ticket_never_waits_longer_than_a_normal_one_in_its_place(
        place: tuple[list[Window], datetime], ahead: dict[str, int], business: str, rate: float) -> None:
    hall, now = place
    counts = {k: float(v) for k, v in ahead.items()}
    flow = {c: rate for c in "ABCQX"}
    assert (wait(now, hall, counts, business, True, priority_per_minute=flow).minutes
            <= wait(now, hall, counts, business, False, priority_per_minute=flow).minutes)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(0.5, 600), min_size=1, max_size=30), st.floats(1, 60))
def test_the_learned_figure_stays_between_the_catalog_and_what_was_seen(samples: list[float], prior: float) -> None:
    d = durations.learn(prior, samples)
    start = durations.prior(prior).mean
    assert min(start, *samples) - 1e-9 <= d.mean <= max(start, *samples) + 1e-9
    assert d.sd >= 0 and 0 < d.no_show_rate < 1


def test_a_ticket_more_likely_called_before_the_lunch_break_is_told_so() -> None:
    """Eight 15-minute services ahead at 10:01 are two hours of work on average, a minute more than the morning
    has left; but services lean right, so more often than not they are done before noon. The citizen is told
    the morning (as often early as late), and the range says it may be the afternoon."""
    est = wait(at(10, 1), HALL, {"X": 8}, "Q")
    assert est.minutes < 119  # before the break, not 210 minutes (the mean of the work, past the break)
    assert est.high >= 119 + 90  # the range reaches past the break


def test_the_range_reaches_further_above_the_figure_than_below() -> None:
    """Waits run long more often than short (a service that drags on, a window that pauses, priority holders
    who come): twenty 5-minute services ahead at one window, nothing in the way until noon, and the range
    says more about how much later it may be than how much sooner."""
    est = wait(at(9, 10), HALL, {"Q": 20}, "Q")
    assert 90 <= est.minutes <= 110, est
    assert est.high - est.minutes >= 1.4 * (est.minutes - est.low), est
    assert est.low >= 60, est  # and the early end is not "at once"
