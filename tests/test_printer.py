
"""Ticket printer: golden bytes of our Chinese path, rendering, QR round trip, status and faults."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from pyzbar.pyzbar import decode

from drivers.errors import DeviceAbsent
from drivers.printer import escpos
from drivers.printer import layouts as lay
from drivers.printer.fonts import missing_glyphs
from drivers.printer.ports import Address, Capabilities, capabilities, send, status
from drivers.printer.render import line_image, render
from drivers.printer.simulator import NetworkPrinterSimulator, PaperState, PrinterSimulator, SerialPrinterSimulator
from kiosk.hall import supervision
from tests.helpers import KIOSK_BIN, ROOT, Client, HallProcess

SLIP = lay.TicketSlip("示范市不动产登记中心", "B012", "转移登记（存量房买卖）", 3, 25, "1101**********002X",
                      "2026-11-23 10:05", "HT1:demo-hall:20261123:B012:SIGNATURE", "elderly")


def test_golden_bytes_of_the_chinese_path() -> None:
    # full-width punctuation and ¥ are real GB18030, never '?'
    assert escpos.chinese_text("费用￥80（元）：") == (b"\x1c\x26" + b"\xb7\xd1\xd3\xc3\xa3\xa480\xa3\xa8\xd4\xaa\xa3\xa9"
                                                      b"\xa3\xba" + b"\x1c\x2e")
    assert escpos.size(3, 3) == b"\x1d\x21\x22\x1c\x21\x0c"
    assert escpos.size(1, 1) == b"\x1d\x21\x00\x1c\x21\x00"
    assert escpos.CUT == b"\x1b\x64\x06\x1d\x56\x00"
    assert escpos.STATUS_OFFLINE + escpos.STATUS_PAPER == b"\x10\x04\x02\x10\x04\x04"
    tiny = Image.new("1", (9, 2), 1)
    tiny.putpixel((0, 0), 0)
    tiny.putpixel((8, 1), 0)
    assert escpos.raster(tiny) == b"\x1d\x76\x30\x00\x02\x00\x02\x00" + bytes([0x80, 0, 0, 0x80])


def test_text_mode_line_bytes() -> None:
    data = render([lay.Line("办不成事", 2, "center", True)], "text", 80)
    assert data == (b"\x1b@" + b"\x1ba\x01" + b"\x1bE\x01" + b"\x1d!\x11\x1c!\x0c" + escpos.chinese_text("办不成事")
                    + b"\n" + b"\x1d!\x00\x1c!\x00" + b"\x1bE\x00")
    assert b"?" not in data


def test_rare_characters_go_raster_even_in_text_mode() -> None:
    data = render([lay.Line("申请人：吉𠮷堃喆")], "text", 58)
    assert escpos.CHINESE_ON not in data and b"\x1dv0" in data
    assert not missing_glyphs("吉𠮷堃喆骨直￥（）")
    blank = line_image(lay.Line(""), 384)
    drawn = line_image(lay.Line("𠮷"), 384)
    assert drawn.tobytes() != blank.tobytes()  # a real glyph, not nothing


@pytest.mark.parametrize("paper", [58, 80])
@pytest.mark.parametrize("mode", ["text", "raster"])
def test_rendered_ticket_has_its_text_and_a_decodable_qr(tmp_path: Path, paper: int, mode: str) -> None:
    sim = PrinterSimulator(paper)
    sim.feed(render(lay.ticket(SLIP, paper), mode, paper))
    png = tmp_path / "slip.png"
    sim.save_png(png)
    image = Image.open(png)
    assert image.width == {58: 384, 80: 576}[paper] + 32 and sim.cuts == 1
    codes = decode(image.convert("L"))
    assert [c.data.decode("utf-8") for c in codes] == [SLIP.qr]
    if mode == "text":
        assert "B012" in sim.texts and "本号仅限本人使用，过号请重新取号" in sim.texts
    texts = " ".join(e.text for e in lay.ticket(SLIP, paper) if isinstance(e, lay.Line))
    assert not missing_glyphs(texts)


def test_every_layout_renders_with_glyphs_for_all_its_text() -> None:
    slips = [
        lay.notice(lay.NoticeSlip("大厅", "N20261123-001", "抵押登记", ["主债权合同及抵押合同", "不动产权证书"], 3, "1007",
                                  "2026-11-23", "1101**********002X", 3, repeat=True)),
        lay.matter(lay.MatterSlip("大厅", "M20261123-001", "材料要求不清或反复补材料", "2026-11-23 10:00", "2026-11-30",
                                  "HM1:demo-hall:M20261123-001")),
        lay.booking(lay.BookingSlip("大厅", "转移登记", "2026年11月24日 星期二", "09:00–09:30", "1101**********002X", "HA1:x")),
    ]
    for elements in slips:
        texts = " ".join(e.text for e in elements if isinstance(e, lay.Line))
        assert not missing_glyphs(texts), texts
        sim = PrinterSimulator(58)
        sim.feed(render(elements, "text", 58))
        assert sim.cuts == 1


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(1, 50))
def test_simulator_survives_garbage_and_split_writes(noise: bytes, chunk: int) -> None:
    sim = PrinterSimulator(58)
    sim.feed(noise)
    good = PrinterSimulator(58)
    data = render([lay.Line("测试"), lay.QR("x"), lay.Cut()], "text", 58)
    good.feed(b"\x1b@")
    for i in range(0, len(data), chunk):  # TCP delivers a slip in pieces
        good.feed(data[i:i + chunk])
    assert good.cuts == 1 and "测试" in good.texts


@pytest.mark.parametrize(("state", "ok", "words"), [
    (PaperState(), True, "正常"),
    (PaperState(paper_low=True), True, "快用完"),
    (PaperState(paper_out=True), False, "缺纸"),
    (PaperState(cover_open=True), False, "机盖"),
])
def test_status_before_committing_a_ticket(state: PaperState, ok: bool, words: str) -> None:
    with NetworkPrinterSimulator(PrinterSimulator(80, state)) as printer:
        answer = status(f"network://{printer.host}:{printer.port}")
        assert answer.can_print is ok and words in answer.sentence()


def test_printing_through_python_escpos_network() -> None:
    with NetworkPrinterSimulator() as printer:
        data = render(lay.ticket(SLIP), "text", 80)
        send(f"network://{printer.host}:{printer.port}", data)
        for _ in range(100):
            if printer.sim.cuts:
                break
            __import__("time").sleep(0.02)
        assert bytes(printer.sim.received) == data and printer.sim.cuts == 1


def test_printing_to_a_serial_printer_at_a_pyserial_url() -> None:
    """The serial connector opens any pyserial path (here a pseudo-terminal) and carries our bytes as they are."""
    with SerialPrinterSimulator() as printer:
        data = render(lay.ticket(SLIP), "text", 58)
        assert status(f"serial://{printer.path}?baud=9600").can_print
        send(f"serial://{printer.path}?baud=9600", data)
        for _ in range(100):
            if printer.sim.cuts:
                break
            __import__("time").sleep(0.02)
        assert bytes(printer.sim.received).endswith(data) and printer.sim.cuts == 1


def test_printing_to_a_device_file(tmp_path: Path) -> None:
    target = tmp_path / "lp0"
    target.touch()
    send(f"file://{target}", b"\x1b@ok")
    assert target.read_bytes() == b"\x1b@ok"


@pytest.mark.parametrize(("url", "paper", "expected"), [
    ("network://10.0.0.5:9100", 80, Capabilities("network", 80, 576, True, Address(host="10.0.0.5", port=9100))),
    ("network://printer-3", 80, Capabilities("network", 80, 576, True, Address(host="printer-3", port=9100))),
    ("serial:///dev/ttyUSB0?baud=19200", 58, Capabilities("serial", 58, 384, True,
                                                          Address(path="/dev/ttyUSB0", baud=19200))),
    ("usb://04b8:0202", 80, Capabilities("usb", 80, 576, False, Address(usb=(0x04B8, 0x0202)))),
    ("file:///dev/usb/lp0", 58, Capabilities("file", 58, 384, False, Address(path="/dev/usb/lp0"))),
    ("simulator://", 80, Capabilities("simulator", 80, 576, True, Address())),
    ("simulator://kiosk-2", 58, Capabilities("simulator", 58, 384, True, Address(path="kiosk-2"))),
])
def test_one_capabilities_record_per_printer(url: str, paper: int, expected: Capabilities) -> None:
    """What a printer can do and where it is come from its URL, read once: the port is chosen from this record."""
    assert capabilities(url, paper) == dataclasses.replace(expected, url=url)


def test_dead_printer_is_a_sentence() -> None:
    with pytest.raises(DeviceAbsent) as err:
        status("network://127.0.0.1:1")
    assert "无法连接打印机 network://127.0.0.1:1" in err.value.message
    with pytest.raises(DeviceAbsent) as err:
        send("usb://04b8:0202", b"\x1b@")  # no such USB printer on this machine
    assert "打印机" in err.value.message
    for url in ("lpt://1", "usb://epson", "serial:///dev/ttyS0?baud=fast"):
        with pytest.raises(DeviceAbsent) as err:
            send(url, b"\x1b@")
        assert "地址格式不对" in err.value.message, url


def test_the_simulator_is_a_port_like_the_others(tmp_path: Path) -> None:
    """A simulated printer answers the status request, prints each job as one slip, and when unplugged cannot
    be reached: the kiosk's code path is the same as with a real printer."""
    from drivers.printer.simulator import SimulatedPrinter, plug_in

    printer = plug_in("t-port", SimulatedPrinter(58, tray=tmp_path))
    assert status("simulator://t-port", 58).can_print
    printer.state.paper_low = True
    assert "快用完" in status("simulator://t-port", 58).sentence()
    data = render(lay.ticket(SLIP), "raster", 58)
    send("simulator://t-port", data, 58)
    send("simulator://t-port", data, 58)
    assert bytes(printer.received).endswith(data + data)
    slips = sorted(p.name for p in tmp_path.iterdir())
    assert slips == ["slip-0001.png", "slip-0002.png"]
    assert [c.data for c in decode(Image.open(tmp_path / "slip-0002.png").convert("L"))] == [SLIP.qr.encode()]
    printer.state.unplugged = True
    with pytest.raises(DeviceAbsent) as err:
        status("simulator://t-port")
    assert "未连接" in err.value.message


def test_test_print_qr_is_signed_by_the_hall(tmp_path: Path) -> None:
    hall = HallProcess(tmp_path / "data")
    out = subprocess.run([*KIOSK_BIN, "devices", "test-print", "--layout", "ticket", "--png", str(tmp_path / "t.png"),
                          "--data", str(hall.data), "--now", hall.now], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    text = decode(Image.open(tmp_path / "t.png").convert("L"))[0].data.decode("utf-8")
    hall.enroll("kiosk", "kiosk-1")
    hall.start()
    try:
        kiosk: Client = hall.client("kiosk-1")
        ticket = kiosk.post("/api/v1/tickets/verify", {"qr": text}).json()["ticket"]
        assert ticket["number"] == "T001" and ticket["state"] == "cancelled"  # verifiable, never callable
        forged = kiosk.post("/api/v1/tickets/verify", {"qr": text[:-2] + "AA"})
        assert forged.status_code == 422
        assert all(b["waiting"] == 0 for b in kiosk.get("/api/v1/queue").json()["businesses"])
    finally:
        hall.stop()
    for layout in ("notice", "matter", "booking"):
        out = subprocess.run([*KIOSK_BIN, "devices", "test-print", "--layout", layout, "--paper", "58", "--png",
                              str(tmp_path / f"{layout}.png"), "--data", str(hall.data)], capture_output=True,
                             text=True, cwd=ROOT, timeout=60)
        assert out.returncode == 0 and (tmp_path / f"{layout}.png").exists(), out.stderr


def test_the_booking_slip_prints_the_date_and_the_halls_check_in_window() -> None:
    """A booking is usually for another day; the check-in window is the hall's [booking] rule, not a copy."""
    from datetime import datetime

    day = lay.day_text(datetime(2026, 11, 24, 9, 0))
    assert day == "2026年11月24日 星期二"
    slip = lay.booking(lay.BookingSlip("大厅", "转移登记", day, "09:00–09:30", "1101**********002X", "HA1:x", 45, 10))
    text = "".join(e.text.strip() for e in slip if isinstance(e, lay.Line))
    assert "2026年11月24日 星期二" in text and "09:00–09:30" in text
    assert "提前45分钟至迟到10分钟" in text


def test_the_catalog_tells_screens_the_halls_own_rules(tmp_path: Path) -> None:
    from tests.helpers import Hall, example_config

    hall = Hall(tmp_path, example_config(booking={"checkin_early_minutes": 45, "checkin_late_minutes": 10}))
    rules = supervision.catalog(hall.svc)["rules"]
    assert rules == {"checkin_early_minutes": 45, "checkin_late_minutes": 10, "bad_rating_at_most": 2,
                     "rating_keypad_minutes": 10, "rating_late_days": 1}
    hall.close()


def test_the_slip_says_a_phone_can_follow_the_queue_when_the_qr_is_the_halls_address() -> None:
    import dataclasses

    texts = [e.text for e in lay.ticket(SLIP) if isinstance(e, lay.Line)]
    assert "手机扫码查看排队进度" not in texts  # a plain signed code: nothing to open on a phone
    url = dataclasses.replace(SLIP, qr="https://dengji.example.gov.cn/hall/q?c=" + SLIP.qr)
    texts = [e.text for e in lay.ticket(url) if isinstance(e, lay.Line)]
    assert "手机扫码查看排队进度" in texts


def test_a_slip_whose_windows_have_gone_home_says_so_instead_of_a_wait() -> None:
    """Taken anyway after the booking offer, when every window of its business has gone home: the slip prints
    that it may not be called today, not a range of minutes that counted on a window that will call nobody."""
    gone = dataclasses.replace(SLIP, expected_wait_range=(5, 25), expected_today=False)
    for paper in (58, 80):
        lines = [e for e in lay.ticket(gone, paper) if isinstance(e, lay.Line)]
        text = "".join(e.text.strip() for e in lines)
        assert "此号今天可能叫不到" in text and "may not be called today" in text and "预计等候" not in text
        first = next(i for i, e in enumerate(lines) if e.text.startswith("前面等候"))
        told = lines[first:next(i for i, e in enumerate(lines) if e.text.startswith("取号人"))]
        assert all(lay.columns(e.text) * e.size <= lay.PAPER_COLUMNS[paper] for e in told), paper  # no line cut
        assert not missing_glyphs(text)
    usual = "".join(e.text for e in lay.ticket(SLIP) if isinstance(e, lay.Line))
    assert "预计等候约 25 分钟" in usual and "今天可能叫不到" not in usual


@pytest.mark.parametrize("paper", [58, 80])
def test_no_line_of_any_slip_runs_off_the_paper(paper: int) -> None:
    """Every line of every slip fits the paper's columns: a longer one is wrapped (an English word whole), never
    cut off at the edge (at 58 mm "For the holder only; not transferable" used to end in "transferab")."""
    url = dataclasses.replace(SLIP, qr="https://dengji.example.gov.cn/hall/q?c=" + SLIP.qr)
    slips = [
        lay.ticket(url, paper), lay.ticket(dataclasses.replace(url, expected_today=False), paper),
        lay.notice(lay.NoticeSlip("示范市不动产登记中心", "N20261123-001", "转移登记（存量房买卖）",
                                  ["主债权合同及抵押合同", "不动产权证书"], 3, "1007", "2026-11-23",
                                  "1101**********002X", 3, repeat=True), paper),
        lay.matter(lay.MatterSlip("示范市不动产登记中心", "M20261123-001", "材料要求不清或反复补材料",
                                  "2026-11-23 10:00", "2026-11-30", "HM1:demo-hall:M20261123-001"), paper),
        lay.booking(lay.BookingSlip("示范市不动产登记中心", "转移登记", "2026年11月24日 星期二", "09:00–09:30",
                                    "1101**********002X", "HA1:x"), paper),
    ]
    for elements in slips:
        for e in elements:
            if isinstance(e, lay.Line):
                assert lay.columns(e.text) * e.size <= lay.PAPER_COLUMNS[paper], e.text
    assert lay.wrap("For the holder only; not transferable", 32) == ["For the holder only; not", "  transferable"]
    assert lay.wrap("本号仅限本人使用，过号请重新取号。", 32) == ["本号仅限本人使用，过号请重新取号", "  。"]
