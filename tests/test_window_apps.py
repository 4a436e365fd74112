"""The window terminal, the duty desk and the display board on real offscreen windows, with real touches,
the keypad and ID-reader simulators on pseudo-terminals, and a real hall service. Screenshots stay in
build/ as artefacts.

The counter and the duty desk also run as a hall would run them: separate processes against one
``kiosk hall serve``, so that a bad rating pressed on the window's keypad is the follow-up the duty
desk closes.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from kiosk.ui.voice.calls import speech_text
from tests.helpers import KIOSK_BIN, ROOT, HallProcess, person

ARTEFACTS = ROOT / "build"


def tour(app: str, out: Path, *extra: str) -> dict[str, Any]:
    done = subprocess.run([*KIOSK_BIN, "app", app, "--tour", str(out), *extra], capture_output=True, text=True,
                          cwd=ROOT, timeout=400)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    record: dict[str, Any] = json.loads((out / "tour.json").read_text())
    assert record["_missed"] == []
    for name in record:
        if not name.startswith("_"):
            low, high = Image.open(out / f"{name}.png").convert("L").getextrema()
            assert high - low > 100, f"{name} is blank"
    return record


def texts(record: dict[str, Any]) -> dict[str, str]:
    return {name: "\n".join(t) for name, t in record.items() if not name.startswith("_")}


@pytest.fixture(scope="module")
def hall(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = HallProcess(tmp_path_factory.mktemp("hall"))
    for role, name in (("kiosk", "kiosk-1"), ("kiosk", "kiosk-2"), ("counter", "counter-2"), ("supervisor", "duty")):
        server.enroll(role, name)
    assert server.cli("clerks", "add", "--id", "8001", "--name", "王晓明", "--pin", "2468").returncode == 0
    server.start()
    kiosks = [server.client("kiosk-1"), server.client("kiosk-2")]  # a kiosk serves 5 people per 10 minutes
    for i, business in enumerate("BCBCBC"):
        reply = kiosks[i % 2].post("/api/v1/tickets", {"business": business, "identity": person(100 + i)})
        assert reply.status_code == 201, reply.text
    assert kiosks[0].post("/api/v1/matters", {"category": "materials", "description": "窗口第三次让我补材料",
                                          "ticket": "B002"}).status_code == 201
    yield server
    server.stop()


@pytest.fixture(scope="module")
def counter(hall: HallProcess) -> dict[str, Any]:
    return tour("counter", ARTEFACTS / "counter", "--hall", hall.url, "--token", hall.tokens["counter-2"],
                "--window", "2")


def test_the_counter_serves_a_citizen_end_to_end(counter: dict[str, Any], hall: HallProcess) -> None:
    t = texts(counter)
    assert "工号或 PIN 不正确" in t["02-login-wrong-pin"]
    assert "王晓明（工号 8001）" in t["03-desk"] and "B001" in t["03-desk"] and "C003" in t["03-desk"]
    assert "B001" in t["04-called"] and "已叫号" in t["04-called"]
    assert "人证不一致" in t["06-identity-mismatch"] and "3702**********0025" in t["06-identity-mismatch"]
    assert "原因已记录：代办人持授权委托书" in t["07-serving-override"]
    assert "已打印" in t["09-notice-printed"]
    assert "请群众在评价器上评价" in t["11-please-rate"]
    assert "群众评价：不满意" in t["12-rated-bad"] and "值班长跟进" in t["12-rated-bad"]
    assert "此次不按顺序叫号将被记录" in t["14-call-specific-reason-required"]
    assert "原因已记录" in t["15-called-out-of-order"]
    assert "请群众拍照留存" in t["18-notice-on-screen"] and "打印机不可用" in t["18-notice-on-screen"]
    assert "评价器离线" in t["19-keypad-unplugged"] and "自助机" in t["19-keypad-unplugged"]
    assert "暂停服务：业务会商（预计" in t["21-paused"]  # the pause says when the window is back
    # what the hall recorded: the keypad's press, never the clerk's
    duty = hall.client("duty")
    followups = duty.get("/api/v1/followups").json()["followups"]
    assert [(f["ticket"], f["level"]) for f in followups] == [("B001", 2)]
    audit = duty.get("/api/v1/audit").json()["audit"]
    kinds = {a["kind"] for a in audit}
    assert {"out_of_order_call", "identity_mismatch", "identity_override", "transfer"} <= kinds
    assert all(a["reason"] for a in audit if a["kind"] in ("out_of_order_call", "identity_override", "transfer"))
    help_events = [e for e in duty.get("/api/v1/events?after=0&limit=5000").json()["events"]
                   if e["type"] == "kiosk.help_requested"]
    assert any(e["payload"]["screen"] == "keypad" for e in help_events)  # the technician was called


def test_an_out_of_order_call_without_a_reason_is_impossible(counter: dict[str, Any]) -> None:
    targets = dict(counter["_touch_targets"]["14-call-specific-reason-required"])
    assert "确定（将记录）" not in targets  # the confirm control is disabled until a reason is chosen or typed
    assert counter["_timings"]["keypad_event_to_stored_ms"]


def test_the_duty_desk_follows_up_what_the_window_recorded(counter: dict[str, Any], hall: HallProcess) -> None:
    record = tour("duty", ARTEFACTS / "duty-live", "--hall", hall.url, "--token", hall.tokens["duty"])
    t = texts(record)
    assert "M20261123-001" in t["01-matters"] and "待领办" in t["01-matters"]
    assert "已销号" in t["04-matter-closed"] and "电话回访，群众表示满意" in t["04-matter-closed"]
    assert "B001" in t["06-followups"] and "不满意" in t["06-followups"]
    assert "不按顺序叫号" in t["08-audit"] and "预约群众到场" in t["08-audit"]
    assert "人证不一致仍办理" in t["08-audit"] and "代办人持授权委托书" in t["08-audit"]
    matter = hall.client("duty").get("/api/v1/matters/M20261123-001").json()["matter"]
    assert [h["status"] for h in matter["history"]] == ["opened", "claimed", "claimed", "resolved", "called_back",
                                                        "closed"]
    assert hall.client("duty").get("/api/v1/followups").json()["followups"][0]["status"] == "closed"


def test_the_duty_desk_alone_with_its_demo_morning() -> None:
    record = tour("duty", ARTEFACTS / "duty")
    t = texts(record)
    assert "新的办不成事反映 M20261123-002" in t["05-new-report-alert"]
    assert "kiosk-2" in t["05b-kiosk-burst-alert"] and "疑似代他人占号" in t["05b-kiosk-burst-alert"]
    assert "【逾期】2026-11-13" in t["06-followups"]
    # 申诉复核 of today's bad rating: a reason is required, then appealed, then overturned (kept, marked)
    assert "原因" in t["07a-appeal-needs-reason"]
    assert "申诉中" in t["07b-rating-appealed"]
    assert "申诉复核已撤销" in t["07c-rating-overturned"]
    # window 5 (查询 Q) has worked and gone home with Q tickets waiting: the load says they are stranded
    stranded = next(line for line in t["09-load"].splitlines() if "登记资料查询" in line)
    assert "已无窗口办理" in stranded, t["09-load"]
    assert all("已无窗口办理" not in line for line in t["09-load"].splitlines() if "转移登记" in line)  # B is served
    assert "原因" in t["10-reason-required"] and "5号窗口临时加办 B" in t["11-temporary-window"]
    assert "延时服务到 18:30" in t["12-hours-extended"]
    # the roster: window 5 goes home at 15:00, recorded with its reason and listed in today's decisions
    assert "5号窗口 15:00 下班" in t["13-window-leaves-early"] and "人员下午培训" in t["13-window-leaves-early"]
    assert "查询" in t["13-window-leaves-early"] and "此后无窗口办理" in t["13-window-leaves-early"]  # 5 alone serves Q
    assert "5号窗口 11:15–12:00 暂离" in t["14-window-away"] and "错峰午休" in t["14-window-away"]
    assert list((ARTEFACTS / "duty" / "sounds").glob("chime-*.wav"))  # the new report chimed


def test_the_counter_alone_with_its_demo_queue() -> None:
    record = tour("counter", ARTEFACTS / "counter-demo")
    assert "B001" in texts(record)["04-called"]


def test_the_display_calls_aloud_in_turn() -> None:
    out = ARTEFACTS / "display"
    record = tour("display", out)
    t = texts(record)
    assert "请到 2 号窗口" in t["02-call-flashing"] and "B001" in t["02-call-flashing"]
    assert "示范市不动产登记中心" in t["01-board"]
    assert "最近呼叫" in t["04-busy-board"] and "号窗口" in t["04-busy-board"]
    spoken = [json.loads(line) for line in (out / "voice" / "spoken.jsonl").read_text().splitlines()]
    said = [s["text"] for s in spoken]
    assert said[:4] == [speech_text("B001", 2)] * 2 + [speech_text("D001", 3)] * 2  # each call twice, in order
    for before, after in itertools.pairwise(spoken):
        assert after["start"] >= before["end"]  # never over each other
    with wave.open(str(out / "voice" / spoken[0]["file"])) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    assert samples.size > 8000 and np.sqrt(np.mean(samples.astype(float) ** 2)) > 300  # speech, not silence
    assert record["_timings"]["call_to_display_ms"]


def test_speech_reads_digits_one_by_one() -> None:
    assert speech_text("A012", 3) == "请 A 零一二 号，到 三 号窗口"
    assert speech_text("B101", 12, recall=True) == "再次呼叫，请 B 一零一 号，到 十二 号窗口"
    assert speech_text("K007", 20) == "请 K 零零七 号，到 二十 号窗口"
