"""适老化 and accessibility on the real kiosk: every text's contrast measured on every screen of the tour, in
both palettes; elderly mode from its one button; spoken prompts in order, never over each other, never
personal."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from kiosk.domain import labels
from kiosk.ui.palette import HIGH_CONTRAST, NORMAL, Palette, contrast
from kiosk.ui.voice.prompts import PROMPTS, speakable

NEEDED = {"normal": 4.5, "high_contrast": 7.0}  # WCAG 2.1 AA and AAA; GB/T 37668-2019 uses the same ratios


def measured(tour: Path) -> list[dict[str, Any]]:
    """Each text of each screenshot: its declared colour against the background the screenshot shows
    around it (the most common colour of its visible box)."""
    record = json.loads((tour / "tour.json").read_text())
    out = []
    for shot, boxes in record["_text_boxes"].items():
        image = Image.open(tour / f"{shot}.png").convert("RGB")
        width, height = image.size
        for box in boxes:
            x0, y0, x1, y1 = box["visible"]
            left, top, right, bottom = max(0, x0), max(0, height - y1), min(width, x1), min(height, height - y0)
            if right - left < 2 or bottom - top < 2:
                continue
            counts = Counter(image.crop((left, top, right, bottom)).get_flattened_data())
            background = tuple(c / 255 for c in counts.most_common(1)[0][0])
            out.append({"shot": shot, "text": box["text"], "palette": record["_palettes"][shot],
                        "ratio": contrast(tuple(box["color"][:3]), background)})
    return out


@pytest.mark.parametrize("which", ["kiosk_tour", "kiosk_tour_high_contrast"])
def test_every_text_on_every_screen_has_enough_contrast(which: str, request: pytest.FixtureRequest) -> None:
    tour: Path = request.getfixturevalue(which)
    texts = measured(tour)
    assert len(texts) > 500 and {t["palette"] for t in texts} == {"normal", "high_contrast"}
    low = [(t["shot"], t["text"], round(t["ratio"], 2)) for t in texts if t["ratio"] < NEEDED[t["palette"]]]
    assert low == []


@pytest.mark.parametrize("palette", [NORMAL, HIGH_CONTRAST])
def test_every_pair_the_palette_promises_meets_its_ratio(palette: Palette) -> None:
    low = {name: round(contrast(fg, bg), 2) for name, (fg, bg) in palette.pairs().items()
           if contrast(fg, bg) < NEEDED[palette.name]}
    assert low == {}


def test_high_contrast_is_a_palette_not_a_bigger_font(kiosk_tour: Path) -> None:
    normal = Image.open(kiosk_tour / "01-home.png").convert("L")
    high = Image.open(kiosk_tour / "42-high-contrast-home.png").convert("L")
    assert normal.size == high.size
    # the ground turns black: most of the screen changes brightness
    changed = sum(abs(a - b) > 100 for a, b in zip(normal.get_flattened_data(), high.get_flattened_data(),
                                                     strict=True))
    assert changed > 0.5 * normal.size[0] * normal.size[1]


def test_elderly_mode_is_one_button_for_large_text_contrast_and_three_actions(kiosk_tour: Path) -> None:
    record = json.loads((kiosk_tour / "tour.json").read_text())
    assert record["_palettes"]["40-elderly-home"] == "high_contrast"
    boxes = [b for b in record["_text_boxes"]["40-elderly-home"] if b["button"]]
    actions = [b for b in boxes if b["box"][2] > 0.8 * record["_window"][0]]  # each across the whole screen
    assert sorted(b["text"] for b in actions) == ["取号", "呼叫工作人员", "预约签到"]
    buttons = {b["text"]: b for b in boxes}
    usual = {b["text"]: b for b in record["_text_boxes"]["01-home"] if b["button"]}
    assert buttons["取号"]["texture"][1] > usual["取号"]["texture"][1] * 1.2  # larger text
    assert "退出老年人模式" in buttons
    assert record["_palettes"]["41-elderly-business"] == "high_contrast"  # it stays on while the citizen goes on


def prompts(tour: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tour / "voice" / "prompts.jsonl").read_text().splitlines()]


def test_prompts_are_spoken_in_order_and_never_over_each_other(kiosk_tour_high_contrast: Path) -> None:
    said = prompts(kiosk_tour_high_contrast)
    screens = [p["screen"] for p in said]
    assert {"home", "business", "identify", "ticket", "scan", "rate", "enquiry", "entry", "report"} <= set(screens)
    assert [p["start"] for p in said] == sorted(p["start"] for p in said)
    for before, after in itertools.pairwise(said):
        assert before["end"] <= after["start"] + 0.05  # one at a time
    # a new screen cuts the prompt in progress rather than queueing behind it
    assert any(p["cut"] for p in said) and any(not p["cut"] for p in said)
    for p in said:
        if p["screen"] in PROMPTS and p["screen"] not in ("message", "ticket"):
            assert p["text"] == PROMPTS[p["screen"]]


def test_nothing_personal_is_spoken(kiosk_tour_high_contrast: Path, kiosk_tour: Path) -> None:
    from drivers.idcard.simulator import SAMPLE_CARDS

    said = prompts(kiosk_tour_high_contrast) + prompts(kiosk_tour)
    names = [card.name for card in SAMPLE_CARDS.values()]
    for p in said:
        assert not re.search(r"\d{6,}", p["text"]) and not any(name in p["text"] for name in names), p
    ticket = [p["text"] for p in said if p["screen"] == "ticket"]
    assert ticket and all("号" in t for t in ticket)  # the ticket's number is said (it is on the board anyway)
    # and the wait, as the hall's range in words: "前面还有三人，预计等候大约十到二十分钟"
    for t in ticket:
        wait = re.search(r"前面还有(\S+)人，预计等候大约(\S+)分钟", t) or re.search(
            r"前面还有(\S+)人，" + re.escape(labels.NOT_TODAY_SPOKEN), t)  # or, its windows gone home, that it may not be today
        assert wait and not re.search(r"\d", wait.group(0)), t


def test_voice_follows_the_kiosks_setting(kiosk_tour: Path) -> None:
    """guide = "elderly" (the default): the kiosk is silent until elderly mode is turned on."""
    said = prompts(kiosk_tour)
    assert said and said[0]["screen"] == "home" and said[0]["start"] >= 0
    record = json.loads((kiosk_tour / "tour.json").read_text())
    assert "40-elderly-home" in record
    assert len(said) < 10  # elderly mode lasts a few screens of the tour


@pytest.mark.parametrize(("text", "ok"), [("请选择业务", True), ("您的号码是 A 零一二 号", True),
                                          ("11010519491231002X", False), ("身份证 110105194912310", False)])
def test_an_id_number_is_never_speakable(text: str, ok: bool) -> None:
    assert speakable(text) is ok


def test_a_citizen_who_cannot_type_pinyin_writes_with_a_finger(kiosk_tour: Path) -> None:
    """The tour writes 十 on the 办不成事 pad with two strokes: it is offered first, undo and clear are there."""
    record = json.loads((kiosk_tour / "tour.json").read_text())
    shown = record["44-report-handwriting"]
    assert {"撤销一笔", "清除", "拼音键盘"} <= set(shown)
    candidates = [b["text"] for b in record["_text_boxes"]["44-report-handwriting"] if b["button"]]
    assert "十" in candidates[:12]
