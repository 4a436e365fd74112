"""Every app's tour at every screen a hall has: portrait kiosks (1080×1920, 768×1366), wall displays
(1920×1080), window PCs (1366×768) and the 1280×800 the other tests play. No text is clipped by its box or
the window, no two texts are drawn over each other, and on a tall kiosk the keys and the candidate bar are
in the lower two thirds, in reach of a standing adult and a wheelchair user. These checks are of geometry,
so the tours lay every screen out without drawing it (``--layout-only``); the records stay in
build/tours/<app>-<size>/tour.json. The drawn screens are the other tours' (1280×800, both palettes)."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers import KIOSK_BIN, ROOT
from tests.layout import clipped, out_of_reach, overlapping, record

APPS = ("kiosk", "counter", "duty", "display")
SIZES = ("1080x1920", "1920x1080", "1366x768", "768x1366")  # 1280x800: the other tours
ARTEFACTS = ROOT / "build" / "tours"


@pytest.fixture(scope="module")
def tours() -> dict[tuple[str, str], Path]:
    """All of them, eight at a time: a tour that draws nothing mostly waits for its screens to settle."""

    def play(job: tuple[str, str]) -> tuple[tuple[str, str], Path, str]:
        app, size = job
        folder = ARTEFACTS / f"{app}-{size}"
        out = subprocess.run([*KIOSK_BIN, "app", app, "--tour", str(folder), "--size", size, "--layout-only"],
                             capture_output=True, text=True, cwd=ROOT, timeout=600)
        return job, folder, "" if out.returncode == 0 else out.stdout[-1500:] + out.stderr[-3000:]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(play, [(a, s) for a in APPS for s in SIZES]))
    failed = {job: why for job, _folder, why in results if why}
    assert failed == {}
    return {job: folder for job, folder, _why in results}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("app", APPS)
def test_no_text_is_clipped_or_drawn_over_another(tours: dict[tuple[str, str], Path], app: str, size: str) -> None:
    tour = tours[(app, size)]
    data = record(tour)
    assert data["_missed"] == []
    assert data["_window"] == [int(n) for n in size.split("x")]
    assert clipped(tour) == []
    assert overlapping(tour) == []


@pytest.mark.parametrize("size", ["1080x1920", "768x1366"])
def test_on_a_tall_kiosk_the_keys_are_in_reach(tours: dict[tuple[str, str], Path], size: str) -> None:
    tour = tours[("kiosk", size)]
    id_keys = set("1234567890X") | {"删除", "确认 OK"}
    letters = set("qwertyuiopasdfghjklzxcvbnm")
    assert out_of_reach(tour, "03-identify", id_keys) == []
    assert out_of_reach(tour, "31-report-pinyin", letters) == []
    candidates = {b["text"] for b in record(tour)["_text_boxes"]["31-report-pinyin"] if b["button"]}
    assert "不知道" in candidates
    assert out_of_reach(tour, "31-report-pinyin", {"不知道"}) == []  # the candidate bar too
    assert out_of_reach(tour, "34-rate-type-number", set("1234567890")) == []


def test_a_portrait_kiosk_stacks_its_choices(tours: dict[tuple[str, str], Path]) -> None:
    """Not a landscape layout squeezed: two columns of tall tiles on a portrait screen, three on a wide one."""
    def columns(tour: Path, shot: str, texts: set[str]) -> int:
        return len({b["box"][0] for b in record(tour)["_text_boxes"][shot] if b["text"] in texts})

    home = {"取号", "预约签到", "服务评价", "自助查询", "排队情况", "办不成事反映"}
    assert columns(tours[("kiosk", "1080x1920")], "01-home", home) == 2
    assert columns(tours[("kiosk", "1920x1080")], "01-home", home) == 3


def test_layout_only_without_a_tour_says_what_it_needs() -> None:
    """The flag only shapes a tour: alone it is refused with a clear answer, not silently ignored."""
    out = subprocess.run([*KIOSK_BIN, "app", "kiosk", "--layout-only"], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 2
    assert "--tour" in out.stderr and "导览" in out.stderr and "Traceback" not in out.stderr
