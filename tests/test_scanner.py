"""QR / barcode input: a serial scanner on a pty and a simulated camera, against the hall's codes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.errors import DeviceAbsent, ProtocolError
from drivers.scanner.camera import CameraScanner, decode_frame
from drivers.scanner.serial_scanner import MAX_CODE, SerialScanner
from drivers.scanner.simulator import ScannerSimulator, SimulatedCamera, phone_screen
from drivers.scanner.text import decode_scan, undo_shift_jis
from tests.helpers import KIOSK_BIN, ROOT, Hall, person


@pytest.mark.parametrize("suffix", [b"\r", b"\r\n", b"\n"])
def test_serial_scans_with_any_suffix(suffix: bytes) -> None:
    with ScannerSimulator(suffix) as sim:
        scanner = SerialScanner(sim.path, suffix=suffix)
        scanner.open()
        sim.scan("HT1:demo-hall:20261123:B001:SIG")
        sim.scan("预约码 A12", chunk=3)  # arrives in pieces
        sim.scan("登记", encoding="gb18030")  # an older scanner in GB mode
        assert scanner.read_code(2) == "HT1:demo-hall:20261123:B001:SIG"
        assert scanner.read_code(2) == "预约码 A12"
        assert scanner.read_code(2) == "登记"
        assert scanner.read_code(0.2) is None
        scanner.close()


def test_serial_garbage_is_reported_then_skipped() -> None:
    with ScannerSimulator() as sim:
        scanner = SerialScanner(sim.path)
        scanner.open()
        sim.noise(b"\xff" * (MAX_CODE + 10))
        with pytest.raises(ProtocolError) as err:
            scanner.read_code(2)
        assert "后缀" in err.value.message
        sim.scan("A001")
        assert scanner.read_code(2) == "A001"
        scanner.close()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_scan_parsing_survives_any_bytes(noise: bytes) -> None:
    scanner = SerialScanner("loop://")
    scanner._buf += noise + b"\rA001\r"
    codes = []
    for _ in range(100):
        try:
            code = scanner._take()
        except ProtocolError:
            continue
        if code is None:
            break
        codes.append(code)
        assert "\r" not in code and "\n" not in code
    assert codes and codes[-1] == "A001"


def test_scanned_text_cleanup() -> None:
    assert decode_scan(b"  A001\x00\x07 ") == "A001"
    original = "预约"
    mangled = original.encode("utf-8").decode("shift_jis", errors="strict") if _sjis_ok(original) else None
    if mangled is not None:
        assert undo_shift_jis(mangled) == original
    assert undo_shift_jis("ｱｲｳ") == "ｱｲｳ"  # real Shift-JIS text that is not mangled UTF-8 stays


def _sjis_ok(text: str) -> bool:
    try:
        text.encode("utf-8").decode("shift_jis")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize("variant", ["clean", "blurred", "rotated", "rotated_blurred"])
def test_camera_reads_a_phone_screen(variant: str) -> None:
    text = "HA1:demo-hall:A1B2:a:B:1795400000:1795401800:-:SIGNATURE 预约"
    camera = CameraScanner(SimulatedCamera([phone_screen(text, variant)], empty_frames=5))
    assert camera.read_code(3) == text


def test_camera_frames_are_read_in_gray() -> None:
    import numpy as np

    frame = np.array(phone_screen("A001").convert("RGB"))[:, :, ::-1].copy()
    frame[:, :, 0] = 255  # a blue cast over everything: the blue channel alone shows nothing
    assert decode_frame(frame) == ["A001"]


def test_dead_camera_is_a_sentence() -> None:
    with pytest.raises(DeviceAbsent) as err:
        CameraScanner(SimulatedCamera([], dead=True)).read_code(2)
    assert "摄像头没有画面" in err.value.message


def test_appointment_checked_in_from_a_phone_at_the_camera(hall: Hall) -> None:
    status, body = hall.do("create_appointment", {
        "business": "D", "slot_start": "2026-11-23T10:15:00+08:00", "slot_end": "2026-11-23T10:45:00+08:00",
        "identity": person(4)}, device=hall.supervisor)
    assert status == 201
    code = CameraScanner(SimulatedCamera([phone_screen(body["appointment"]["code"], "rotated_blurred")])).read_code(3)
    status, body = hall.do("check_in", {"code": code, "identity": person(4)})
    assert status == 201 and body["ticket"]["channel"] == "appointment"


def test_scan_tool_masks_id_numbers(tmp_path: Path) -> None:
    image = tmp_path / "id-qr.png"
    phone_screen("身份证 11010519491231002X 张三").save(image)
    out = subprocess.run([*KIOSK_BIN, "devices", "scan", "--image", str(image)], capture_output=True, text=True,
                         cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "1101**********002X" in out.stdout and "11010519491231002X" not in out.stdout
    none = subprocess.run([*KIOSK_BIN, "devices", "scan", "--image", str(tmp_path / "missing.png")],
                          capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert none.returncode == 1 and "Traceback" not in none.stderr


def test_camera_reports_a_code_once_while_the_phone_stays_in_view() -> None:
    from drivers.scanner.simulator import CameraSimulator

    sim = CameraSimulator()
    camera = CameraScanner(sim, repeat_after=60)
    sim.show("HT1:demo-hall:20261123:B001:AAAA")
    assert camera.read_code(3) == "HT1:demo-hall:20261123:B001:AAAA"
    assert camera.read_code(0.3) is None  # the same phone, still in view: not a second scan
    sim.show("HT1:demo-hall:20261123:B002:BBBB")
    assert camera.read_code(3) == "HT1:demo-hall:20261123:B002:BBBB"  # another code is read at once
    sim.unplugged = True
    with pytest.raises(DeviceAbsent):
        camera.read_code(3)
