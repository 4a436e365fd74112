"""``kiosk drill``: whole hall days through the real API prove that scalpers are stopped and that no
honest citizen is refused. CI plays a busy morning at a high speed and reads summary.json; the
report is opened in headless Chromium and its screenshot kept in build/drill/."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import tomllib
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.config_files import DEFAULT_CONFIG, load_config
from kiosk.domain.identity import validate_number
from kiosk.drill.play import DrillError, apply_settings, parse_set
from kiosk.drill.scenario import ScenarioInvalid, parse_scenario, plan_day
from tests.helpers import KIOSK_BIN, ROOT

DRILLS = ROOT / "config" / "drills"
ARTEFACTS = ROOT / "build" / "drill"
TZ = ZoneInfo("Asia/Shanghai")


def scenario(name: str, **changes: object) -> dict[str, object]:
    doc = tomllib.loads((DRILLS / f"{name}.toml").read_text(encoding="utf-8"))
    for key, value in changes.items():
        section, _, field = key.partition("__")
        doc.setdefault(section, {})[field] = value  # type: ignore[index]
    return doc


def codes() -> tuple[str, ...]:
    return tuple(b.code for b in load_config(DEFAULT_CONFIG).businesses)


@pytest.mark.parametrize("path", sorted(DRILLS.glob("*.toml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_is_valid_and_plans_a_day(path: Path) -> None:
    config = load_config(DEFAULT_CONFIG)
    sc = parse_scenario(tomllib.loads(path.read_text(encoding="utf-8")), codes())
    periods = list(config.calendar.periods(sc.day))
    assert periods, f"{path.name}: the hall is closed on {sc.day}"
    visits = plan_day(sc, periods, TZ, seed=1)
    assert visits and all(periods[0][0] <= v.at < periods[-1][1] for v in visits if v.kind != "appointment")
    # synthetic people carry valid ID numbers, and no two citizens share one
    numbers = [v.person.id_number for v in visits if v.kind == "walk_in"]
    assert len(set(numbers)) == len(numbers)
    assert all(validate_number(n, sc.day) == n for n in numbers)


def test_the_same_seed_plays_the_same_day_and_another_seed_another() -> None:
    config = load_config(DEFAULT_CONFIG)
    sc = parse_scenario(scenario("monday"), codes())
    periods = list(config.calendar.periods(sc.day))

    def day(seed: int) -> list[tuple[object, ...]]:
        return [(v.at, v.business, v.person.id_number, v.entry, round(v.service_minutes, 3))
                for v in plan_day(sc, periods, TZ, seed)]

    assert day(7) == day(7)
    assert day(7) != day(8)


def test_the_holiday_brings_three_times_the_crowd() -> None:
    config = load_config(DEFAULT_CONFIG)
    monday = parse_scenario(scenario("monday"), codes())
    holiday = parse_scenario(scenario("after_holiday"), codes())
    walk_ins = [sum(v.kind == "walk_in" for v in plan_day(sc, list(config.calendar.periods(sc.day)), TZ, 3))
                for sc in (monday, holiday)]
    assert 2.4 < walk_ins[1] / walk_ins[0] < 3.6


@pytest.mark.parametrize(("change", "words"), [
    ({"mix__Z": 3}, "mix"),
    ({"drill__date": "tomorrow"}, "drill.date"),
    ({"citizens__no_show": 1.5}, "citizens.no_show"),
    ({"arrivals__09:00": "many"}, "arrivals"),
    ({"citizens__keypad": 2}, "citizens.keypad"),
    ({"windows__pauses": {"3": "noon"}}, "windows.pauses.3"),
    ({"windows__pauses": {"3": [["11:00", "lunch"]]}}, "windows.pauses.3"),
])
def test_a_bad_scenario_names_the_key(change: dict[str, object], words: str) -> None:
    with pytest.raises(ScenarioInvalid, match=words.replace(".", r"\.")):
        parse_scenario(scenario("monday", **change), codes())


def test_insiders_are_part_of_the_scenario_vocabulary() -> None:
    config = load_config(DEFAULT_CONFIG)
    doc = scenario("busy_morning")
    sc = parse_scenario(doc, codes())
    assert {i.kind for i in sc.insiders} == {"slot_hoarder", "rating_padder"}
    visits = plan_day(sc, list(config.calendar.periods(sc.day)), TZ, seed=1)
    hoarder = [v for v in visits if v.strategy == "slot_hoarder"]
    assert len(hoarder) == 12 and {v.entry for v in hoarder} == {"typed"} and {v.business for v in hoarder} == {"D"}
    assert all(v.buyer is not None and v.buyer.id_number != v.person.id_number for v in hoarder)
    assert 0.75 < sum(v.keypad for v in visits) / len(visits) < 0.95  # some leave before the keypad asks
    # who presses the keypad is drawn apart: the day itself is the same whatever the rating shares
    keys = [(v.at, v.person.id_number) for v in visits]
    doc["citizens"]["keypad"] = 0.5  # type: ignore[index]
    again = plan_day(parse_scenario(doc, codes()), list(config.calendar.periods(sc.day)), TZ, seed=1)
    assert [(v.at, v.person.id_number) for v in again] == keys
    for bad, words in (({"kind": "mole"}, "insiders\\[0\\].kind"), ({"kind": "slot_hoarder", "business": "Z"},
                                                                    "insiders\\[0\\].business"),
                       ({"kind": "rating_padder", "windwo": 1}, "windwo")):
        with pytest.raises(ScenarioInvalid, match=words):
            parse_scenario({**doc, "insiders": [bad]}, codes())


def test_a_window_pause_is_part_of_the_planned_day() -> None:
    sc = parse_scenario(scenario("lunch_pause"), codes())
    assert f"{sc.window_pauses[2][0][0]:%H:%M}" == "11:15" and set(sc.window_pauses) == {1, 2, 3, 4, 5}


def test_a_window_whose_clerk_goes_home_early_is_on_the_roster_and_stays_gone() -> None:
    """short_staffed: windows 2 and 4 go home at 14:30 and 15:00 (the duty desk announces it in the morning,
    and they do not come back after closing to finish the queue); the others stay to the end."""
    sc = parse_scenario(scenario("short_staffed"), codes())
    closing = time(17, 30)
    assert [(w, sc.goes_home(w, closing)) for w in range(1, 6)] == [
        (1, None), (2, time(14, 30)), (3, None), (4, time(15)), (5, None)]
    assert sc.goes_home(2, time(14, 30)) is None  # leaving with the hall is not going home early


def test_what_if_settings_go_into_a_copy_of_the_config(tmp_path: Path) -> None:
    for name in ("hall.toml", "catalog.toml"):
        (tmp_path / name).write_text((DEFAULT_CONFIG.parent / name).read_text(encoding="utf-8"), encoding="utf-8")
    doc: dict[str, object] = {"windows": {}}
    applied = apply_settings(tmp_path, "hall.toml", doc, [parse_set("limits.per_person_per_day=2"),
                                                          parse_set("limits.kiosk_burst.identities=4"),
                                                          parse_set("scenario.windows.closed=[3]")])
    config = load_config(tmp_path / "hall.toml")
    assert config.limits.per_person_per_day == 2
    assert config.limits.kiosk_burst is not None and config.limits.kiosk_burst.identities == 4
    assert doc["windows"] == {"closed": [3]}
    assert applied["limits.per_person_per_day"] == 2
    assert "# Example hall" in (tmp_path / "hall.toml").read_text(encoding="utf-8")  # the comments stay
    with pytest.raises(DrillError, match="limitz"):
        apply_settings(tmp_path, "hall.toml", doc, [parse_set("limitz.x=1")])
    with pytest.raises(DrillError):
        parse_set("no-equals-sign")


def browser_screenshot(url: str, png: Path) -> str:
    args = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--lang=zh-CN", "--window-size=1100,2600"]
    png.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([*args, f"--screenshot={png}", url], capture_output=True, timeout=90, check=True)
    return subprocess.run([*args, "--dump-dom", url], capture_output=True, text=True, timeout=90, check=True).stdout


def test_a_busy_morning_stops_scalpers_and_refuses_no_citizen() -> None:
    """The shipped config, twice the usual crowd and every scalper trick, at 600× (under a minute)."""
    report = ARTEFACTS / "busy-morning"
    shutil.rmtree(report, ignore_errors=True)  # this run's report only
    out = subprocess.run([*KIOSK_BIN, "drill", "--scenario", str(DRILLS / "busy_morning.toml"), "--report",
                          str(report), "--speed", "600", "--seed", "1"],
                         capture_output=True, text=True, timeout=400, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "大厅时间" in out.stdout  # progress was shown while the day ran
    s = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    burst = load_config(DEFAULT_CONFIG).limits.kiosk_burst
    assert burst is not None

    assert s["honest_refused"] == {}, s["honest_refused"]
    assert s["scalper_served"] == 0
    # the insiders: the hoarder got into the full day's bookings, but none a buyer could use; no padded rating
    assert s["hoarded_slots"] == 0 and s["forged_ratings_accepted"] == 0
    hoarder, padder = s["insiders"]["slot_hoarder"], s["insiders"]["rating_padder"]
    assert hoarder["attempts"] == 12 and hoarder["bookings"] >= 1 and hoarder["bookings_on_hold"] == hoarder["bookings"]
    assert padder["attempts"] > 50 and set(padder["answers"]) <= {"RATING_NOT_YOURS", "RATING_NEEDS_SLIP",
                                                                  "RATING_CLOSED", "RATING_EXISTS"}
    assert sum(s["ratings"].values()) > 30  # the citizens' own ratings, keypad and phone, were taken
    assert s["issued"] > 100 and s["served"] > 30
    assert s["last_issued_at"] >= "11:40"  # tickets were issued until the end of the morning, never stopped early
    # the typed-numbers scalper gets a few tickets at most before each kiosk stops typed entry
    typed = s["scalpers"]["typed_numbers"]
    assert typed["refused"].get("KIOSK_BURST", 0) > 0
    assert s["typed_burst_stopped_after"] and max(s["typed_burst_stopped_after"]) <= burst.identities
    assert s["burst_alerts"] >= 1  # the duty desk saw it
    # the other tricks: the per-person limits, the agent limit and the window's identity check
    assert s["scalpers"]["lent_card"]["refused"]
    assert s["scalpers"]["agent_over_limit"]["refused"].get("AGENT_LIMIT", 0) > 0
    assert s["identity_mismatches"] > 0
    assert s["hall_errors"] == {}
    for key in ("offered", "booked", "wait_minutes", "longest_queue", "window_utilisation", "ratings",
                "followups_opened", "matters", "wall_seconds"):
        assert key in s

    # what every ticket was told about its wait, scored against what happened, the old formulas beside
    w = s["waits"]
    assert w["tickets"] > 30 and w["looks"] > 0 and w["mean_wait"] > 0
    for told in ("slip", "later", "old_slip", "old_later"):
        assert set(w[told]["overall"]) == {"n", "mae", "median_error", "bias", "within", "range_held", "range_width"}
        assert w[told]["overall"]["n"] > 0 and w[told]["by_business"]
    assert 0 < w["slip"]["overall"]["range_held"] <= 1 and w["old_slip"]["overall"]["range_held"] is None
    assert w["unserved_unwarned"] == 0 and w["unserved_told_today"] == 0
    assert json.loads((report / "waits.json").read_text(encoding="utf-8"))[0]["told"]

    charts = sorted(p.name for p in report.glob("*.png"))
    assert charts == ["flow.png", "queue.png", "refusals.png", "scalpers.png", "wait_estimates.png", "waits.png"]
    dom = browser_screenshot((report / "report.html").as_uri(), report / "report-screenshot.png")
    assert "大厅演练报告" in dom and "没有市民被拒之门外" in dom and "等候时间估计的准确度" in dom
    assert "没有可转卖的囤积号源" in dom and "没有一条代评被接受" in dom
    assert "买号者凭凭条和号码能用的预约号源为 0 个" in dom and "大厅接受了 0 次" in dom
    assert all(f'src="{c}"' in dom for c in charts)


def test_the_wait_score_compares_what_was_told_with_what_happened() -> None:
    """Six holders: told 20 (10–30) and called after 25; told 40 (30–50) and called after 60; one never
    called whose range ended at 16:00 without a booking offer (unwarned); one never called after an offer;
    two checked-in appointments never called, one whose range reached past closing (warned: an appointment
    cannot be offered a booking) and one whose range ended before it (unwarned)."""
    from kiosk.drill.day import Record, TicketLog
    from kiosk.drill.scenario import Person, Visit
    from kiosk.drill.waits import Told, WaitLog, WaitWatch

    day = datetime(2026, 11, 23, 15, 0, tzinfo=TZ)
    rec = Record()
    watch = WaitWatch(None, None, rec, threading.Event(), "", day.replace(hour=17, minute=30))  # type: ignore[arg-type]
    cases = [("B001", 20, 10, 30, 25.0, False), ("B002", 40, 30, 50, 60.0, False), ("B003", 30, 20, 60, None, False),
             ("B004", 200, 150, 260, None, True), ("B005", 10, 0, 160, None, False),
             ("B006", 10, 0, 100, None, False)]
    for number, minutes, low, high, called, offered in cases:
        kind = "appointment" if number in ("B005", "B006") else "walk_in"
        visit = Visit(day, kind, "B", Person("x", "y"))
        rec.tickets[number] = TicketLog(visit, number, day,
                                        called_at=day + timedelta(minutes=called) if called is not None else None)
        watch.logs[number] = WaitLog(number, "B", kind, day, offered, "code", Told(day, minutes, low, high, minutes - 10))
    watch.logs["B002"].looks.append(Told(day + timedelta(minutes=30), 25, 20, 35, 10))  # 30 left: error −5
    # after every window went home, B003's phone was still told 5 minutes; B004's that it may not be today
    watch.logs["B003"].last = Told(day + timedelta(hours=3), 5, 0, 10, None, today=True)
    watch.logs["B004"].last = Told(day + timedelta(hours=3), 5, 0, 10, None, today=False)
    score = watch.score()
    slip = score["slip"]["overall"]
    assert slip["n"] == 2 and slip["mae"] == 12.5 and slip["bias"] == -12.5 and slip["range_held"] == 0.5
    assert slip["range_width"] == 20 and score["slip"]["by_business"]["B"]["n"] == 2
    assert score["old_slip"]["overall"]["mae"] == 22.5 and score["old_slip"]["overall"]["range_held"] is None
    assert score["later"]["overall"]["mae"] == 5 and score["later"]["overall"]["range_held"] == 1
    assert score["unserved"] == 4 and score["unserved_unwarned"] == 2 and score["unserved_told_today"] == 1
    assert not score["goals"]["told_not_today_ok"]
    assert score["mean_wait"] == 42.5 and score["goals"]["slip_mae_target"] == 8.5
    assert not score["goals"]["slip_mae_ok"] and score["goals"]["later_ok"] and not score["goals"]["unwarned_ok"]


def test_drill_explains_a_closed_day_and_a_bad_setting(tmp_path: Path) -> None:
    bad = tmp_path / "sunday.toml"
    bad.write_text((DRILLS / "monday.toml").read_text(encoding="utf-8").replace("date = 2026-11-23",
                                                                                 "date = 2026-11-22"), encoding="utf-8")
    out = subprocess.run([*KIOSK_BIN, "drill", "--scenario", str(bad), "--report", str(tmp_path / "r")],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2 and "不办公" in out.stderr and "Traceback" not in out.stderr
    out = subprocess.run([*KIOSK_BIN, "drill", "--scenario", str(DRILLS / "monday.toml"), "--report",
                          str(tmp_path / "r"), "--set", "limits.per_person_per_day=0"],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2 and "per_person_per_day" in out.stderr and "Traceback" not in out.stderr


def test_drill_against_a_hall_that_does_not_answer_says_so(tmp_path: Path) -> None:
    """--hall at an address where nothing listens: a clear message in Chinese and English, not a stack trace."""
    from kiosk.drill.play import free_port

    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"kiosks": ["k"], "counters": {"1": "c"}, "supervisor": "s", "display": "d",
                                  "clerks": {"1": ["9001", "246810"]}}), encoding="utf-8")
    out = subprocess.run([*KIOSK_BIN, "drill", "--scenario", str(DRILLS / "monday.toml"), "--report",
                          str(tmp_path / "r"), "--hall", f"http://127.0.0.1:{free_port()}", "--tokens", str(tokens)],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 2 and "大厅服务无法访问" in out.stderr and "cannot be reached" in out.stderr
    assert "Traceback" not in out.stderr
