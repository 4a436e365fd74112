"""A terminal's devices from devices.toml: simulators behind the same factory as real ports."""

from __future__ import annotations

import subprocess
from pathlib import Path

from PIL import Image
from pyzbar.pyzbar import decode

from drivers.devices_config import load_devices_config
from drivers.factory import open_devices, probe
from drivers.keypad.driver import KeyPress
from drivers.printer import layouts as lay
from drivers.printer.ports import send, status
from drivers.printer.render import render
from drivers.printer.simulator import PaperState, PrinterSimulator, SerialPrinterSimulator
from tests.helpers import KIOSK_BIN, ROOT

EXAMPLE = ROOT / "config" / "devices.toml"


def test_example_terminal_runs_on_simulators(tmp_path: Path) -> None:
    devices = open_devices(load_devices_config(EXAMPLE), png_dir=tmp_path)
    try:
        assert all(ok for _, ok, _ in probe(devices))
        assert devices.printer.status().can_print
        devices.printer.print_slip(lay.ticket(lay.TicketSlip("大厅", "A001", "首次登记", 0, 0, "1101**********002X",
                                                             "2026-11-23 10:00", "HT1:x")))
        png = tmp_path / "slip-0001.png"
        assert [c.data for c in decode(Image.open(png).convert("L"))] == [b"HT1:x"]
        devices.simulators["idcard"].place("elder")
        assert devices.idcard is not None and devices.idcard.read_card() is not None
        devices.simulators["scanner"].scan("A001")
        assert devices.scanner is not None and devices.scanner.read_code(2) == "A001"
        assert devices.keypad is not None
        devices.keypad.please_rate(1, "李四", 7, 1)
        devices.keypad.poll_once()
        devices.simulators["keypad"].press(1, 5)
        assert devices.keypad.poll_once() == [KeyPress(1, 1, 5)]
        devices.simulators["printer"].state.paper_out = True
        status = devices.printer.status()
        assert not status.can_print and "缺纸" in status.sentence()
    finally:
        devices.close()


def test_serial_printer_prints_and_reports_paper(tmp_path: Path) -> None:
    with SerialPrinterSimulator(PrinterSimulator(58, PaperState(paper_low=True))) as printer:
        st = status(f"serial://{printer.path}")
        assert st.can_print and st.paper_low and "快用完" in st.sentence()
        data = render(lay.booking(lay.BookingSlip("大厅", "转移登记", "2026年11月24日 星期二", "09:00–09:30",
                                                  "1101**********002X",
                                                  "HA1:code")), "raster", 58)
        send(f"serial://{printer.path}?baud=9600", data)
        for _ in range(200):
            if printer.sim.cuts:
                break
            __import__("time").sleep(0.02)
        assert printer.sim.cuts == 1 and bytes(printer.sim.received).endswith(data)
        printer.sim.state.paper_out = True
        assert not status(f"serial://{printer.path}").can_print


def test_probe_all_names_what_does_not_answer(tmp_path: Path) -> None:
    config = tmp_path / "devices.toml"
    config.write_text(EXAMPLE.read_text().replace('port = "simulator://"    # e.g. /dev/ttyUSB1',
                                                   'port = "/dev/nonexistent-reader"'))
    out = subprocess.run([*KIOSK_BIN, "devices", "probe", "all", "--devices", str(config)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 1
    assert "✓ printer" in out.stdout and "✗ idcard: 无法打开串口 /dev/nonexistent-reader" in out.stdout
    assert "Traceback" not in out.stdout + out.stderr
    config.write_text("[printer]\npaper = 57\n")
    bad = subprocess.run([*KIOSK_BIN, "devices", "probe", "all", "--devices", str(config)], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert bad.returncode == 1 and "printer.paper" in bad.stderr and "Traceback" not in bad.stderr
